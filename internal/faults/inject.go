package faults

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// inject strikes: it returns when the fault happened (faultAt) and when
// it ended (calm: the kill itself, or the moment the service, RabbitMQ or
// the endpoint was started again, so that their start counts in the
// recovery), from which recovery and a stall are timed.
func (r *run) inject(ctx context.Context, row *Row) (faultAt, calm time.Time, err error) {
	switch r.fault {
	case None:
		now := time.Now()
		return now, now, nil
	case WorkerKill, ManagerKill:
		role := "worker"
		if r.fault == ManagerKill {
			role = "manager"
		}
		ep := r.eps[0]
		var pids []int
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if pids = roleProcs(ep.runID(), role, ep.bin); len(pids) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(pids) == 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("no %s process of endpoint %s (run %s)", role, ep.name, ep.runID())
		}
		faultAt = time.Now()
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			return faultAt, faultAt, fmt.Errorf("kill -9 %s %d: %w", role, pids[0], err)
		}
		row.note("kill -9 of %s pid %d (of %d) of endpoint %s", role, pids[0], len(pids), ep.name)
		return faultAt, time.Now(), nil
	case EndpointKill:
		ep := r.eps[0]
		pid, err := ep.daemonPID()
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		faultAt = time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return faultAt, faultAt, fmt.Errorf("kill -9 endpoint daemon %d: %w", pid, err)
		}
		if !waitDead(pid, 30*time.Second) {
			return faultAt, faultAt, fmt.Errorf("endpoint daemon %d outlived kill -9 by 30 s", pid)
		}
		calm = time.Now()
		if err := ep.start(ctx); err != nil {
			return faultAt, calm, fmt.Errorf("start endpoint %s again: %w", ep.name, err)
		}
		row.note("kill -9 of endpoint %s's daemon pid %d; started again in %.1f s (run %s)", ep.name, pid, time.Since(faultAt).Seconds(), ep.runID())
		return faultAt, calm, nil
	case ServiceKill, ServiceTerm:
		sig, grace, how := syscall.SIGKILL, 30*time.Second, "kill -9"
		if r.fault == ServiceTerm {
			sig, grace, how = syscall.SIGTERM, time.Minute, "SIGTERM"
		}
		r.dups.scrape(ctx, r.svc.url())
		pid := r.svc.cmd.Process.Pid
		faultAt = time.Now()
		if !r.svc.signal(sig, grace) {
			row.note("funcx-service did not exit within %s of %s: killed", grace, how)
			r.svc.signal(syscall.SIGKILL, 30*time.Second)
		}
		exited := time.Since(faultAt)
		r.dups.restarted()
		_ = sleepCtx(ctx, time.Until(faultAt.Add(r.cfg.ServiceDowntime)))
		calm = time.Now()
		if err := r.svc.start(ctx); err != nil {
			return faultAt, calm, fmt.Errorf("start funcx-service again: %w", err)
		}
		row.note("%s of funcx-service pid %d (exited in %.1f s); started again %.1f s after", how, pid, exited.Seconds(), time.Since(faultAt).Seconds())
		return faultAt, calm, nil
	case RabbitMQRestart:
		if r.stopGuard, err = startGuard(); err != nil {
			return time.Time{}, time.Time{}, err
		}
		faultAt = time.Now()
		r.rabbitDown = true
		if err := rabbitmqctl(ctx, "stop_app"); err != nil {
			return faultAt, time.Now(), err
		}
		stopped := time.Since(faultAt)
		if r.brokerDown != nil {
			r.brokerDown()
		}
		_ = sleepCtx(ctx, r.cfg.RabbitMQDowntime)
		calm = time.Now()
		if err := rabbitmqctl(ctx, "start_app"); err != nil {
			return faultAt, calm, err
		}
		if err := rabbitmqctl(ctx, "await_startup"); err != nil {
			return faultAt, calm, err
		}
		r.rabbitDown = false
		r.stopGuard()
		r.stopGuard = nil
		row.note("RabbitMQ stop_app (%.1f s), start_app %s later: up again %.1f s after the stop", stopped.Seconds(), r.cfg.RabbitMQDowntime, time.Since(faultAt).Seconds())
		return faultAt, calm, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("unknown fault %q", r.fault)
}
