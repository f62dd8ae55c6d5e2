package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// endpointsCommand is a placeholder until its owner lands it.
func endpointsCommand() *cli.Command {
	return &cli.Command{
		Name:   "endpoints",
		Usage:  "not implemented yet",
		Hidden: true,
		Action: func(*cli.Context) error { return errors.New("endpoints: not implemented yet") },
	}
}
