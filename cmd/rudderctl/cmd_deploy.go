package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// deployCommand is a placeholder until its owner lands it.
func deployCommand() *cli.Command {
	return &cli.Command{
		Name:   "deploy",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("deploy: not implemented yet") },
	}
}
