package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// logsCommand is a placeholder until its owner lands it.
func logsCommand() *cli.Command {
	return &cli.Command{
		Name:   "logs",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("logs: not implemented yet") },
	}
}
