package config

// Names of the environment variables. A Secret's name is that of its value form; its
// ARN form is the name with "_ARN" added.
const (
	GitHubWebhookSecret        = "GITHUB_WEBHOOK_SECRET"
	GitHubAppID                = "GITHUB_APP_ID"
	GitHubAppPrivateKey        = "GITHUB_APP_PRIVATE_KEY"
	GitHubAppSlug              = "GITHUB_APP_SLUG"
	GitHubAppName              = "GITHUB_APP_NAME"
	GitHubAppRegistration      = "GITHUB_APP_REGISTRATION_ARN"
	GitHubAppRegistrationToken = "GITHUB_APP_REGISTRATION_TOKEN"
	GitHubClientID             = "GITHUB_CLIENT_ID"
	GitHubClientSecret         = "GITHUB_CLIENT_SECRET"
	GitHubAPIURL               = "GITHUB_API_URL"
	GitHubWebURL               = "GITHUB_WEB_URL"
	StateSigningKey            = "STATE_SIGNING_KEY"
	InstallSuccessURL          = "INSTALL_SUCCESS_URL"
	InstallSetupURL            = "INSTALL_SETUP_URL"
	PublicBaseURL              = "PUBLIC_BASE_URL"
	HistoryAdminSubjects       = "HISTORY_ADMIN_SUBJECTS"

	QueueURL = "QUEUE_URL"
	DLQURL   = "DLQ_URL"

	ProjectsTable          = "PROJECTS_TABLE"
	EventStatsTable        = "EVENT_STATS_TABLE"
	SnapshotsTable         = "SNAPSHOTS_TABLE"
	UpdatesTable           = "UPDATES_TABLE"
	EventsTable            = "EVENTS_TABLE"
	InstallationsTable     = "INSTALLATIONS_TABLE"
	UserInstallationsTable = "USER_INSTALLATIONS_TABLE"
	StatesTable            = "STATES_TABLE"

	EventLogRetention = "EVENT_LOG_RETENTION"
	ProcessorLease    = "PROCESSOR_LEASE"
	MetricsNamespace  = "METRICS_NAMESPACE"
	RedeliverLookback = "REDELIVER_LOOKBACK"

	HealthMinSuccessRate       = "HEALTH_MIN_SUCCESS_RATE"
	HealthUnhealthySuccessRate = "HEALTH_UNHEALTHY_SUCCESS_RATE"
	HealthMaxQueueAge          = "HEALTH_MAX_QUEUE_AGE"
	HealthUnhealthyQueueAge    = "HEALTH_UNHEALTHY_QUEUE_AGE"
	HealthUnhealthyDLQDepth    = "HEALTH_UNHEALTHY_DLQ_DEPTH"
	HealthCacheTTL             = "HEALTH_CACHE_TTL"
)

// Function lists for the registry.
var (
	all          = []Function{API, Health, Ingest, Processor, Redeliver}
	api          = []Function{API}
	health       = []Function{Health}
	appFunctions = []Function{Processor, Redeliver} // act as the App and need it
	ghCallers    = []Function{API, Processor, Redeliver}
	apiProcessor = []Function{API, Processor}
	withEvents   = []Function{API, Health, Processor}
)

// Registry is every environment variable a function reads, in the order the README's
// configuration table lists them. The SDK's own variables (AWS_REGION,
// AWS_ENDPOINT_URL_<SERVICE>, …) are the SDK's and not listed.
var Registry = []Var{
	{Name: GitHubWebhookSecret, Kind: Secret, Optional: []Function{API, Ingest},
		Meaning: "webhook secret; `new,old` during rotation. Unset: ingest refuses every delivery (401). The api's manifest flow writes it (`_ARN`)"},
	{Name: GitHubAppID, Kind: Int, Min: "1", Optional: ghCallers,
		Meaning: "the App's id; unset: read from the registration secret the manifest flow writes"},
	{Name: GitHubAppPrivateKey, Kind: Secret, Required: appFunctions, Optional: api,
		Meaning: "the App's private key (PEM); without it the api's installation and project routes answer 503"},
	{Name: GitHubAppSlug, Kind: Text, Optional: api,
		Meaning: "the App's URL name (installation page); falls back to the registration secret"},
	{Name: GitHubClientID, Kind: Text, Optional: api,
		Meaning: "the App's OAuth client id; falls back to the registration secret"},
	{Name: GitHubClientSecret, Kind: Secret, Optional: api,
		Meaning: "the App's OAuth client secret (installation callback)"},
	{Name: GitHubAppRegistration, Kind: ARN, Optional: ghCallers,
		Meaning: "the secret where the manifest flow stores the App's id, slug and client id"},
	{Name: GitHubAppRegistrationToken, Kind: Secret, Optional: api,
		Meaning: "the one-time token that opens the App registration routes (`/github/app/register?token=…`); unset: they stay closed (403)"},
	{Name: StateSigningKey, Kind: Secret, Optional: api,
		Meaning: "HMAC key(s) of the installation and manifest `state`, ≥ 32 bytes each, current first, comma-separated; unset: both flows answer 503"},
	{Name: GitHubAPIURL, Kind: URL, Default: "https://api.github.com/", Optional: ghCallers,
		Meaning: "GitHub REST base URL (GitHub Enterprise Server: `https://HOST/api/v3/`; the local sandbox)"},
	{Name: GitHubWebURL, Kind: URL, Default: "https://github.com/", Optional: ghCallers,
		Meaning: "GitHub web base URL, for OAuth and installation pages"},
	{Name: QueueURL, Kind: URL, Required: []Function{Health, Ingest, Processor},
		Meaning: "the events queue (the processor gives rate-limited deliveries back to it)"},
	{Name: DLQURL, Kind: URL, Required: health,
		Meaning: "the events queue's dead-letter queue"},
	{Name: ProjectsTable, Kind: Text, Required: apiProcessor, Meaning: "DynamoDB table of projects"},
	{Name: SnapshotsTable, Kind: Text, Required: apiProcessor, Meaning: "DynamoDB table of progress snapshots"},
	{Name: UpdatesTable, Kind: Text, Required: apiProcessor, Meaning: "DynamoDB table of the project update log"},
	{Name: EventsTable, Kind: Text, Required: withEvents, Meaning: "DynamoDB table of the webhook event log"},
	{Name: EventStatsTable, Kind: Text, Required: apiProcessor, Meaning: "DynamoDB table of hourly delivery counters (the history's stats route)"},
	{Name: InstallationsTable, Kind: Text, Required: apiProcessor, Meaning: "DynamoDB table of installations"},
	{Name: UserInstallationsTable, Kind: Text, Required: api, Meaning: "DynamoDB table of user–installation links"},
	{Name: StatesTable, Kind: Text, Required: api, Meaning: "DynamoDB table of single-use OAuth states"},
	{Name: EventLogRetention, Kind: Duration, Default: "720h", Min: "1h", Optional: []Function{Processor},
		Meaning: "how long an event log entry lives before DynamoDB's TTL removes it (parameter `EventLogRetention`)"},
	{Name: ProcessorLease, Kind: Duration, Default: "2m", Min: "1s", Optional: []Function{Processor},
		Meaning: "how long a worker's claim on a delivery holds: longer than the function's timeout, shorter than the queue's visibility timeout (the local soak test shortens both)"},
	{Name: MetricsNamespace, Kind: Text, Default: "RepoTrackr/GitHub", Optional: all,
		Meaning: "CloudWatch namespace of the EMF metrics (health reads them back)"},
	{Name: InstallSetupURL, Kind: URL, Optional: api,
		Meaning: "the front end's page GitHub sends the browser to after an installation (the App's setup and callback URL); it relays the query to the install callback with the user's token. Unset: App registration answers 503"},
	{Name: InstallSuccessURL, Kind: URL, Optional: api,
		Meaning: "page a browser lands on after installing the App; unset: a small built-in page"},
	{Name: PublicBaseURL, Kind: URL, Optional: api,
		Meaning: "the API's public base URL for the App manifest; unset: the request's host, over https"},
	{Name: GitHubAppName, Kind: Text, Optional: api,
		Meaning: "the App's name in the manifest"},
	{Name: HistoryAdminSubjects, Kind: List, Optional: api,
		Meaning: "JWT subjects that see every delivery in the history"},
	{Name: RedeliverLookback, Kind: Duration, Default: "6h", Min: "1m", Max: "72h", Optional: []Function{Redeliver},
		Meaning: "how far back each run looks for failed deliveries (GitHub keeps 3 days)"},
	{Name: HealthMinSuccessRate, Kind: Float, Default: "0.95", Min: "0", Max: "1", Optional: health,
		Meaning: "healthy needs a success rate above this (parameter `HealthMinSuccessRate`)"},
	{Name: HealthUnhealthySuccessRate, Kind: Float, Default: "0.8", Min: "0", Max: "1", Optional: health,
		Meaning: "below this success rate is unhealthy"},
	{Name: HealthMaxQueueAge, Kind: Duration, Default: "5m", Min: "1s", Optional: health,
		Meaning: "an older backlog is degraded (parameter `QueueAgeAlarmSeconds`)"},
	{Name: HealthUnhealthyQueueAge, Kind: Duration, Default: "30m", Min: "1s", Optional: health,
		Meaning: "an older backlog is unhealthy"},
	{Name: HealthUnhealthyDLQDepth, Kind: Int, Default: "10", Min: "1", Optional: health,
		Meaning: "DLQ messages from which the status is unhealthy"},
	{Name: HealthCacheTTL, Kind: Duration, Default: "30s", Min: "0s", Optional: health,
		Meaning: "how long a warm container reuses a health report; `0s` turns the cache off"},
}
