package samtemplate

import (
	"testing"
)

// TestPublicHealthBounded: the anonymous health routes have their own throttle below the
// stage's, and the health function a reserved concurrency, so that no load on them turns
// into unbounded CloudWatch reads (issue 10, item 5).
func TestPublicHealthBounded(t *testing.T) {
	tpl := projectTemplate(t)
	r, ok := tpl.Resources["HealthFunction"]
	if !ok {
		t.Fatal("template.yaml has no HealthFunction")
	}
	if r.Properties["ReservedConcurrentExecutions"] == nil {
		t.Errorf("HealthFunction ReservedConcurrentExecutions not set")
	}
	events, _ := r.Properties["Events"].(map[string]any)
	if len(events) == 0 {
		t.Fatal("HealthFunction has no events")
	}
	for name, ev := range events {
		for _, k := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
			if path(ev, "Properties", "RouteSettings", k) == nil {
				t.Errorf("HealthFunction event %s RouteSettings.%s not set", name, k)
			}
		}
	}
}

// TestRegistrationTokenSecret: the App registration token is a secret the template
// generates, and the API function reads it by ARN (issue 10, item 1).
func TestRegistrationTokenSecret(t *testing.T) {
	tpl := projectTemplate(t)
	r, ok := tpl.Resources["AppRegistrationTokenSecret"]
	if !ok || r.Type != "AWS::SecretsManager::Secret" || path(r.Properties, "GenerateSecretString") == nil {
		t.Fatalf("AppRegistrationTokenSecret = %+v, want a Secrets Manager secret with GenerateSecretString", r)
	}
	for _, f := range tpl.Functions() {
		if f.LogicalID != "ApiFunction" {
			continue
		}
		if ref, ok := f.Env["GITHUB_APP_REGISTRATION_TOKEN_ARN"].(Ref); !ok || ref.Name != "AppRegistrationTokenSecret" {
			t.Errorf("ApiFunction GITHUB_APP_REGISTRATION_TOKEN_ARN = %v, want !Ref AppRegistrationTokenSecret", f.Env["GITHUB_APP_REGISTRATION_TOKEN_ARN"])
		}
		return
	}
	t.Error("template.yaml has no ApiFunction")
}

// TestSuccessRateAlarmCountsIgnored: the alarm judges the success rate as the health
// route does: an ignored delivery is handled and a success.
func TestSuccessRateAlarmCountsIgnored(t *testing.T) {
	tpl := projectTemplate(t)
	ids := map[string]string{}
	for _, m := range list(tpl.Resources["SuccessRateAlarm"].Properties["Metrics"]) {
		id := asString(path(m, "Id"))
		if name := asString(path(m, "MetricStat", "Metric", "MetricName")); name != "" {
			ids[id] = name
		} else {
			ids[id] = asString(path(m, "Expression"))
		}
	}
	if ids["ignored"] != "EventsIgnored" || ids["total"] != "FILL(processed, 0) + FILL(ignored, 0) + FILL(failed, 0)" ||
		ids["success_rate"] != "IF(total > 0, (FILL(processed, 0) + FILL(ignored, 0)) / total, 1)" {
		t.Errorf("SuccessRateAlarm metrics = %v, want ignored deliveries counted as handled successes", ids)
	}
}
