// Package cli is what the funcx-go commands share: the kong setup and
// its exit statuses (App), the process a command runs in (System), and
// for the CLIs that talk to the service the credentials, the login flow
// and the login, logout, whoami and version commands (Session).
//
// Exit statuses: 0 on success, 1 on an error (ExitError), 2 on a usage
// error (a bad command, flag or argument, found before anything runs);
// a command may document others of its own, set with *ExitStatus.
package cli
