package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// localcloudCommand is a placeholder until its owner lands it.
func localcloudCommand() *cli.Command {
	return &cli.Command{
		Name:   "localcloud",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("localcloud: not implemented yet") },
	}
}
