package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// rollbackCommand is a placeholder until its owner lands it.
func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:   "rollback",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("rollback: not implemented yet") },
	}
}
