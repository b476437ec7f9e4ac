// Package slackui renders everything pqlbot shows in Slack — alert messages,
// thread replies, escalations, slash-command replies and the App Home — as
// Block Kit built from slack-go types, and parses the /pql command grammar.
//
// It is pure: no I/O, no Slack client calls and no clock reads. Callers fill
// plain view structs (AlertView, ScoreView, SLAReport, ...) and pass `now`
// where the rendering depends on it. Every rendering stays inside Block Kit's
// limits (see ValidateMessage) by truncating long lists with "+N more" and
// clipping long user-supplied text, because a message Slack rejects is an
// alert nobody sees.
//
// All text that came from outside (account names, event names, command
// input) is escaped for mrkdwn, so it can never turn into a mention,
// <!channel> or a link; users are only ever mentioned as <@ID> with a
// well-formed Slack user id.
package slackui
