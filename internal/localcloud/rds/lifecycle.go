package rds

// Background work on an instance's cluster: create (or restore), reboot, snapshot, delete.
// Each holds the instance's live.op so that one runs at a time, works on the cluster
// without the room's lock, and takes the lock only to change statuses.

import (
	"context"
	"errors"
	"time"

	"github.com/rudderctl/rudderctl/internal/pgcluster"
)

const startTimeout = 3 * time.Minute

// wait sleeps d unless the room closes; false = closed.
func (r *Room) wait(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-r.ctx.Done():
		return false
	}
}

// setStatus changes an instance's status (and saves) when it is still there.
func (r *Room) setStatus(k, status, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := r.st.Instances[k]; in != nil {
		in.Status, in.StatusReason = status, reason
		r.commitLocked()
	}
}

// goCreate brings a new instance up: initdb (or the snapshot's data), the server, then
// creating -> backing-up -> available after the RDS delay. password, when setPassword,
// becomes the master password (a restore with a managed password).
func (r *Room) goCreate(k, password string, setPassword bool) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.mu.Lock()
		in := r.st.Instances[k]
		if in == nil {
			r.mu.Unlock()
			return
		}
		lv := r.liveOfLocked(k, in)
		restoreFrom := ""
		if in.RestoreFrom != "" {
			restoreFrom = r.snapshotDir(in.Region, in.RestoreFrom)
		}
		r.mu.Unlock()
		lv.op.Lock()
		defer lv.op.Unlock()
		began := time.Now()
		if err := r.bringUp(k, lv, restoreFrom, password, setPassword); err != nil {
			if r.ctx.Err() == nil {
				r.cloud.Logf("rds: instance %s failed: %v", k, err)
				r.setStatus(k, "failed", "the PostgreSQL cluster did not start: "+firstLine(err.Error()))
			}
			return
		}
		r.mu.Lock()
		if in := r.st.Instances[k]; in != nil {
			in.Port, in.RestoreFrom = lv.cluster.Port(), ""
			r.commitLocked()
		}
		r.mu.Unlock()
		delay := r.cloud.Delays().RDS
		if !r.wait(delay - time.Since(began)) {
			return
		}
		r.setStatus(k, "backing-up", "")
		if !r.wait(delay / 2) {
			return
		}
		r.setStatus(k, "available", "")
	}()
}

func (r *Room) bringUp(k string, lv *live, restoreFrom, password string, setPassword bool) error {
	ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
	defer cancel()
	switch {
	case lv.cluster.Initialized():
	case restoreFrom != "":
		if err := lv.cluster.Restore(restoreFrom); err != nil {
			return err
		}
	default:
		if err := r.useTemplate(ctx, k, lv); err != nil {
			return err
		}
	}
	if err := r.start(ctx, k, lv); err != nil {
		return err
	}
	if setPassword {
		return lv.cluster.SetPassword(ctx, password)
	}
	return nil
}

// useTemplate makes a new instance's cluster start as a copy of the template for its
// master user and database (made by the first instance that needs it, initdb once per
// local cloud): a copy and a start instead of an initdb, still a cluster of its own.
func (r *Room) useTemplate(ctx context.Context, k string, lv *live) error {
	cfg := lv.cluster.Config()
	tmpl, err := r.templates.For(ctx, cfg.User, cfg.Database)
	if err != nil {
		return err
	}
	cfg.Template = tmpl
	r.mu.Lock()
	defer r.mu.Unlock()
	lv.cluster = newCluster(cfg)
	return nil
}

// start starts an instance's server on its port; when something else took that port
// meanwhile, on a new one (the endpoint changes, and the instance records it).
func (r *Room) start(ctx context.Context, k string, lv *live) error {
	err := lv.cluster.Start(ctx)
	if !pgcluster.PortTaken(err) {
		return err
	}
	r.mu.Lock()
	cfg := lv.cluster.Config()
	r.cloud.Logf("rds: port %d of instance %s is taken by another program; moving the instance to a new port", cfg.Port, k)
	cfg.Port = 0
	lv.cluster = newCluster(cfg)
	cl := lv.cluster
	r.mu.Unlock()
	if err := cl.Start(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if in := r.st.Instances[k]; in != nil {
		in.Port = cl.Port()
		r.commitLocked()
	}
	return nil
}

// goReboot restarts the server: rebooting -> available.
func (r *Room) goReboot(k string, lv *live) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		lv.op.Lock()
		defer lv.op.Unlock()
		_ = lv.cluster.Stop()
		ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
		defer cancel()
		if err := r.start(ctx, k, lv); err != nil {
			if r.ctx.Err() == nil {
				r.setStatus(k, "failed", "the PostgreSQL cluster did not restart: "+firstLine(err.Error()))
			}
			return
		}
		r.setStatus(k, "available", "")
	}()
}

// goSnapshot takes a manual snapshot of a running instance: the server stops for the
// copy (a single-AZ instance's I/O pause, longer), the instance is backing-up meanwhile.
func (r *Room) goSnapshot(k, snapKey string, lv *live) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		lv.op.Lock()
		defer lv.op.Unlock()
		began := time.Now()
		_ = lv.cluster.Stop()
		err := r.copySnapshot(lv.cluster, snapKey)
		ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
		defer cancel()
		if serr := r.start(ctx, k, lv); serr != nil {
			if r.ctx.Err() == nil {
				r.setStatus(k, "failed", "the PostgreSQL cluster did not restart after the snapshot: "+firstLine(serr.Error()))
			}
			return
		}
		r.finishSnapshot(snapKey, err, began)
		r.setStatus(k, "available", "")
	}()
}

func (r *Room) copySnapshot(cl *pgcluster.Cluster, snapKey string) error {
	r.mu.Lock()
	s := r.st.Snapshots[snapKey]
	r.mu.Unlock()
	if s == nil {
		return errors.New("the snapshot was deleted")
	}
	dst := r.snapshotDir(s.Region, s.ID)
	removeAllQuiet(dst) // a copy a previous run left half done
	return cl.Snapshot(dst)
}

// finishSnapshot makes a snapshot available (or failed) once the RDS delay has passed.
func (r *Room) finishSnapshot(snapKey string, copyErr error, began time.Time) {
	if copyErr == nil {
		r.wait(r.cloud.Delays().RDS - time.Since(began))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st.Snapshots[snapKey]
	if s == nil {
		return
	}
	s.Status = "available"
	if copyErr != nil {
		r.cloud.Logf("rds: snapshot %s failed: %v", s.ID, copyErr)
		s.Status = "failed"
	}
	r.commitLocked()
}

// goDelete stops the server, copies the final snapshot when one was asked for, removes
// the cluster's directory and the managed secret, and forgets the instance.
func (r *Room) goDelete(k string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.mu.Lock()
		in := r.st.Instances[k]
		if in == nil {
			r.mu.Unlock()
			return
		}
		lv := r.liveOfLocked(k, in)
		final, secret, dir := in.FinalSnapshot, in.SecretARN, r.instanceDir(in.Region, in.ID)
		region := in.Region
		r.mu.Unlock()
		lv.op.Lock()
		defer lv.op.Unlock()
		if r.ctx.Err() != nil {
			return
		}
		_ = lv.cluster.Stop()
		if final != "" {
			began := time.Now()
			var err error
			if lv.cluster.Initialized() {
				err = r.copySnapshot(lv.cluster, key(region, final))
			} else {
				err = errors.New("the instance never held data")
			}
			if r.ctx.Err() != nil {
				return // resumed at the next start
			}
			r.finishSnapshot(key(region, final), err, began)
		}
		if r.ctx.Err() != nil {
			return
		}
		removeAllQuiet(dir)
		if secret != "" && r.secrets != nil {
			r.secrets.DeleteServiceSecret(secret)
		}
		r.mu.Lock()
		delete(r.st.Instances, k)
		delete(r.lives, k)
		r.commitLocked()
		r.mu.Unlock()
	}()
}
