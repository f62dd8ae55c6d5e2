package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// initCommand is a placeholder until its owner lands it.
func initCommand() *cli.Command {
	return &cli.Command{
		Name:   "init",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("init: not implemented yet") },
	}
}
