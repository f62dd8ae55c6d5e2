package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// statusCommand is a placeholder until its owner lands it.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name:   "status",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("status: not implemented yet") },
	}
}
