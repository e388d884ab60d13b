package oidc

import (
	"reflect"
	"testing"
)

func TestSelectBuiltinIssuers(t *testing.T) {
	t.Parallel()
	names := func(iss []Issuer) []string {
		out := []string{}
		for _, i := range iss {
			out = append(out, i.Name)
		}
		return out
	}
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"github", "gitlab", "google"}, []string{"github", "gitlab", "google"}},
		{[]string{"google", "github"}, []string{"github", "google"}},
		{[]string{}, []string{}},
		{[]string{"gitlab", "gitlab"}, []string{"gitlab"}},
	} {
		got, err := SelectBuiltinIssuers(tc.in)
		if err != nil || !reflect.DeepEqual(names(got), tc.want) {
			t.Errorf("SelectBuiltinIssuers(%q) = %q, %v; want %q", tc.in, names(got), err, tc.want)
		}
	}
	if _, err := SelectBuiltinIssuers([]string{"github", "circleci"}); err == nil {
		t.Error("SelectBuiltinIssuers accepted circleci")
	}
	// The selection is a copy: BuiltinIssuers is unchanged.
	if len(BuiltinIssuers()) != 3 {
		t.Errorf("BuiltinIssuers() has %d issuers after a selection", len(BuiltinIssuers()))
	}
}
