package main

import (
	"time"
)

type restartCmd struct {
	Name         string        `arg:"" optional:"" default:"default" predictor:"profile" help:"Profile name (default: ${default})."`
	Timeout      time.Duration `help:"How long the running daemon gets to stop (default: twice the endpoint's stop_grace plus a minute: 2m)."`
	StartTimeout time.Duration `name:"start-timeout" default:"60s" help:"Fail if the endpoint is not up within this (default: ${default})."`
}

func (c *restartCmd) Run(e *env) error {
	p, unlock, err := e.lockedProfile(c.Name, configureFirst)
	if err != nil {
		return err
	}
	defer unlock()
	if err := e.stop(p, c.Timeout); err != nil {
		return err
	}
	h, err := e.prepareStart(p)
	if err != nil {
		return err
	}
	return e.daemonize(p, h, c.StartTimeout)
}
