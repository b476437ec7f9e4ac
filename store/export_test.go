package store

// UserLockKey is the advisory lock key of an id, for tests that hold it.
var UserLockKey = userLockKey
