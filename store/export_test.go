package store

// Exported for the tests of package store_test.
var (
	// UserLockKey is the advisory lock key of an id, for tests that hold it.
	UserLockKey      = userLockKey
	RescoreLockClass = rescoreLockClass
	RescoreLockKeys  = rescoreLockKeys
	RescoreQueueSQL  = rescoreQueueSQL
)
