// Package docs holds the tests that keep the READMEs true: every command
// they show exists (make targets and variables, the flags of stepbox's
// commands and of the steps), every check has its place in its step's
// README, and every step README has the sections a learner relies on.
package docs
