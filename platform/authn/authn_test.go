package authn

import (
	"context"
	"testing"
)

func TestContextRoundTrip(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("FromContext(empty) ok = true, want false")
	}
	want := Principal{Subject: "lep-system-1", Role: RoleLEP, Area: "E37000022"}
	got, ok := FromContext(NewContext(context.Background(), want))
	if !ok || got != want {
		t.Errorf("FromContext(NewContext(%v)) = %v, %v", want, got, ok)
	}
}
