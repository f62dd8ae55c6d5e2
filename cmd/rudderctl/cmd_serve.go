package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// serveCommand is a placeholder until its owner lands it.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:   "serve",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("serve: not implemented yet") },
	}
}
