package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// invokeCommand is a placeholder until its owner lands it.
func invokeCommand() *cli.Command {
	return &cli.Command{
		Name:   "invoke",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("invoke: not implemented yet") },
	}
}
