package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// destroyCommand is a placeholder until its owner lands it.
func destroyCommand() *cli.Command {
	return &cli.Command{
		Name:   "destroy",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("destroy: not implemented yet") },
	}
}
