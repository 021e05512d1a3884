package samtemplate

import "time"

// waitLimit bounds the wait for a new table to become ACTIVE.
const waitLimit = 30 * time.Second
