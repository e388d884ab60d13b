package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func (s *testServer) getText(path string) (int, string) {
	s.t.Helper()
	resp, err := s.client.Get(s.URL + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestStatsJSONMetricsAndPage(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ts := newTestServer(t, d)
		ctx := context.Background()
		st := ts.st
		now := time.Now()
		var users []*store.User
		for i := range 9 {
			u, _ := ts.user(fmt.Sprintf("person%d", i))
			users = append(users, u)
		}
		storetest.Must(t, st.SetTOTP(ctx, users[0].ID, "sealed", 0, now))
		storetest.Must(t, st.SetTOTP(ctx, users[1].ID, "sealed", 0, now))
		storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: users[1].ID, Label: "k", CredentialID: "c1", PublicKey: "p1", Credential: "{}", CreatedAt: now}))
		storetest.Must(t, st.AddSecurityKey(ctx, &store.SecurityKey{UserID: users[2].ID, Label: "k", CredentialID: "c2", PublicKey: "p2", Credential: "{}", CreatedAt: now}))
		storetest.Must(t, st.ReplaceRecoveryCodes(ctx, users[3].ID, []string{"h"}, now)) // does not count
		storetest.Must(t, st.SetUserDisabled(ctx, users[8].ID, true))
		for i, name := range []string{"crit-a", "crit-b", "optin"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: strings.ReplaceAll(name, "-", "") + "x", CreatedAt: now}
			storetest.Must(t, st.CreateProject(ctx, p))
			switch i {
			case 0:
				storetest.Must(t, st.MarkCritical(ctx, p.ID, now))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[0].ID, "Owner", now))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[4].ID, "Maintainer", now))
			case 1:
				storetest.Must(t, st.MarkCritical(ctx, p.ID, now))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[0].ID, "Owner", now))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[2].ID, "Maintainer", now))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[8].ID, "Maintainer", now)) // disabled
			case 2:
				storetest.Must(t, st.SetRequire2FA(ctx, p.ID, true))
				storetest.Must(t, st.AddRole(ctx, p.ID, users[5].ID, "Owner", now))
			}
		}
		svc := ts.srv.opts.Stats
		today := store.DayOf(now)
		for _, back := range []store.Day{3, 2, 1} {
			_, err := svc.Snapshot(ctx, today-back)
			storetest.Must(t, err)
		}
		want := stats.Figures{Users: 8, Users2FA: 3, UsersTOTP: 2, UsersSecurityKey: 2, CriticalProjects: 2,
			CriticalUsers: 3, CriticalUsers2FA: 2, Projects2FARequired: 1}

		code, body := ts.getText("/stats/2fa.json")
		if code != 200 {
			t.Fatalf("json: %d %s", code, body)
		}
		var doc struct {
			Current map[string]int64 `json:"current"`
			TakenAt string           `json:"taken_at"`
			History []map[string]any `json:"history"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		var typed statsDocument
		if err := json.Unmarshal([]byte(body), &typed); err != nil {
			t.Fatal(err)
		}
		if typed.Current != want {
			t.Fatalf("json current %+v, want %+v", typed.Current, want)
		}
		if len(doc.History) != 3 || doc.History[0]["day"] != (today-3).String() || doc.History[2]["day"] != (today-1).String() {
			t.Fatalf("json history: %v", doc.History)
		}
		if typed.History[1].Figures != want {
			t.Fatalf("history day: %+v", typed.History[1])
		}

		code, body = ts.getText("/metrics")
		if code != 200 {
			t.Fatalf("metrics: %d", code)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Current) != len(statsFigures) {
			t.Fatalf("json has %d figures, want %d", len(doc.Current), len(statsFigures))
		}
		for key, v := range doc.Current {
			mf := mfs["cheeseshop_"+key]
			if mf == nil || len(mf.GetMetric()) != 1 {
				t.Fatalf("no gauge cheeseshop_%s", key)
			}
			if got := mf.GetMetric()[0].GetGauge().GetValue(); got != float64(v) {
				t.Errorf("cheeseshop_%s = %g, json %d", key, got, v)
			}
		}
		if mfs["cheeseshop_http_requests_total"] == nil {
			t.Error("the HTTP request metrics are missing from /metrics")
		}

		code, body = ts.getText("/stats/2fa")
		if code != 200 {
			t.Fatalf("page: %d", code)
		}
		for _, f := range statsFigures {
			row := fmt.Sprintf(`<tr id="figure-%s">`, f.Name)
			i := strings.Index(body, row)
			if i < 0 {
				t.Fatalf("no row %s", f.Name)
			}
			end := i + strings.Index(body[i:], "</tr>")
			if !strings.Contains(body[i:end], fmt.Sprintf("<strong>%d</strong>", f.Value(want))) {
				t.Errorf("row %s does not show %d: %s", f.Name, f.Value(want), body[i:end])
			}
		}
		if n := strings.Count(body, "<svg"); n != 4 {
			t.Errorf("%d charts, want 4", n)
		}
		if !strings.Contains(body, "<polyline") || !strings.Contains(body, "37.5% of users") {
			t.Errorf("page: no lines or share:\n%s", body)
		}
		if !strings.Contains(body, `href="/stats/2fa"`) {
			t.Error("no footer link")
		}
	})
}

func TestStatsChartEscapesAndScales(t *testing.T) {
	days := []store.Day{100, 101, 105}
	svg := string(lineChart(`c"1`, `<b>&title`, days, []chartSeries{{Label: `<script>alert(1)</script>`, Color: "#000", Values: []float64{0, 7, 13}}}))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || !strings.Contains(svg, "&lt;script&gt;") {
		t.Fatalf("labels not escaped: %s", svg)
	}
	if !strings.Contains(svg, `>15</text>`) || strings.Contains(svg, `>20</text>`) || !strings.Contains(svg, `>Apr 11</text>`) || !strings.Contains(svg, `>Apr 16</text>`) {
		t.Fatalf("axes: %s", svg)
	}
	one := string(lineChart("c", "t", []store.Day{100}, []chartSeries{{Label: "x", Color: "#000", Values: []float64{0}}}))
	if !strings.Contains(one, "<circle") || strings.Contains(one, "NaN") {
		t.Fatalf("a lone zero: %s", one)
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Fatalf("NaN: %s", svg)
	}
}

func TestStatsWithoutService(t *testing.T) {
	ts := newTestServer(t, store.SQLite)
	srv := New(ts.idx, ts.acct, discardLogger(), prometheus.NewRegistry(), Options{})
	for _, p := range srv.patterns {
		if strings.Contains(p, "/stats/") {
			t.Fatalf("route %s without a statistics service", p)
		}
	}
}
