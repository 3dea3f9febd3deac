package main

// userCmd groups the identity commands. They work on the database
// directly, so they run beside a serving service (SQLite's locking, or
// PostgreSQL's transactions, coordinate the processes).
type userCmd struct {
	Add    userAddCmd    `cmd:"" help:"Add a client identity and print its client ID and secret."`
	List   userListCmd   `cmd:"" help:"List the client identities."`
	Remove userRemoveCmd `cmd:"" help:"Remove an identity and everything it owns."`
}
