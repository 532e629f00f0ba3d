package settings_test

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// A loader reads every variable, then reports every problem at once, each
// naming its variable; unset variables take their defaults.
func ExampleReader() {
	r := settings.NewReader(settings.Map(map[string]string{
		"DRY_RUN":     "yes please",
		"MIN_AGE":     "90m",
		"DELETE_RATE": "1000",
	}))
	dryRun := r.Bool("DRY_RUN", false)
	minAge := r.Duration("MIN_AGE", time.Hour, 0, 24*time.Hour)
	rate := r.Float("DELETE_RATE", 5, 0.1, 100)
	table := r.String("REPLACEMENTS_TABLE", "replacements")

	fmt.Println(dryRun, minAge, rate, table)
	fmt.Println(r.Err())
	// Output:
	// false 1h30m0s 5 replacements
	// DRY_RUN: "yes please" is not true or false
	// DELETE_RATE: 1000 is outside [0.1, 100]
}

// Parse reads a variable into a domain type; a parse error is recorded
// against the variable, and an unset variable parses its default.
func ExampleParse() {
	r := settings.NewReader(settings.Map(map[string]string{"MAX_BATCH": "ten"}))
	batch := settings.Parse(r, "MAX_BATCH", "50", strconv.Atoi)
	window := settings.Parse(r, "WINDOW", "6h", time.ParseDuration)
	fmt.Println(batch, window)
	fmt.Println(r.Err())
	// Output:
	// 0 6h0m0s
	// MAX_BATCH: strconv.Atoi: parsing "ten": invalid syntax
}
