package main

import (
	"fmt"
	"time"

	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
)

// AdminStatsCmd groups the commands about the public 2FA statistics.
type AdminStatsCmd struct {
	Snapshot StatsSnapshotCmd `cmd:"" help:"Record today's (or --day's) two-factor figures in the daily history now (the server does it at start and after each UTC midnight)."`
}

// StatsSnapshotCmd records the figures of a day.
type StatsSnapshotCmd struct {
	Day string `help:"Record the figures as those of this day (YYYY-MM-DD, UTC), replacing its snapshot. Default: today."`
}

// Run implements the command.
func (c *StatsSnapshotCmd) Run(e *env) error {
	day := store.DayOf(time.Now())
	if c.Day != "" {
		d, err := store.ParseDay(c.Day)
		if err != nil {
			return fmt.Errorf("--day: %w", err)
		}
		day = d
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	snap, err := stats.New(st, e.log, nil, -1).Snapshot(e.ctx, day)
	if err != nil {
		return err
	}
	f := snap.Figures
	fmt.Fprintf(e.stdout, "snapshot of %s: %d users, %d with 2FA (%d authenticator app, %d security key); %d critical projects, %d of %d critical users with 2FA; %d projects require 2FA; %d promo codes claimed, %d left\n",
		day, f.Users, f.Users2FA, f.UsersTOTP, f.UsersSecurityKey, f.CriticalProjects, f.CriticalUsers2FA, f.CriticalUsers,
		f.Projects2FARequired, f.PromoCodesClaimed, f.PromoCodesLeft)
	return nil
}
