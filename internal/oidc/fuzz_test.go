package oidc_test

import (
	"context"
	"errors"
	"testing"

	"cheeseshop/internal/oidc"
	"cheeseshop/internal/oidctest"
	"cheeseshop/internal/problem"
)

// FuzzVerify feeds Verify arbitrary strings: it never panics, and every
// answer is a verified token of the trusted issuer or a refusal with a
// mint-token code. The seeds in testdata/fuzz/FuzzVerify are malformed
// tokens; a valid one is added here, since its issuer's URL changes with
// every run.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.is.Mint(f, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience})))
	f.Add(fx.is.Mint(f, oidctest.GitLabClaims(oidctest.GitLabJob{Audience: audience})))
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := fx.v.Verify(context.Background(), raw)
		if err == nil {
			if tok == nil || tok.Issuer.Name != "test" || tok.Claims["aud"] == nil {
				t.Fatalf("Verify(%q) = %+v without an error", raw, tok)
			}
			return
		}
		if _, ok := errors.AsType[*oidc.Error](err); !ok || problem.KindOf(err) == 0 {
			t.Fatalf("Verify(%q) = %v, not a refusal with a code", raw, err)
		}
	})
}

// BenchmarkVerify measures the verification of a token whose issuer's
// keys are cached: what every mint-token request pays.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []oidctest.Alg{oidctest.RS256, oidctest.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			fx := newFixture(b)
			kid := fx.is.AddKey(b, alg)
			raw := fx.is.MintWith(b, kid, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: audience}))
			ctx := context.Background()
			if _, err := fx.v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fx.v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
