package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// packageCommand is a placeholder until its owner lands it.
func packageCommand() *cli.Command {
	return &cli.Command{
		Name:   "package",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("package: not implemented yet") },
	}
}
