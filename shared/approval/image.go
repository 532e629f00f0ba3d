package approval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// StatusAvailable is the Image Builder status of a build whose AMIs exist.
const StatusAvailable = "AVAILABLE"

// maxAMIs bounds one request: Image Builder makes one AMI per Region of the
// distribution, and a request item must stay far below DynamoDB's 400 KB.
const maxAMIs = 64

// Image is an Image Builder image as its SNS notification describes it:
// what an approval needs, nothing more.
type Image struct {
	ARN       string // arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION/BUILD
	Name      string
	Version   string
	Status    string // AVAILABLE, FAILED, CANCELLED, ...
	Reason    string // Image Builder's reason for a status other than AVAILABLE
	AccountID string // the account that ran the build
	Created   time.Time
	// AMIs are the build's AMIs in AccountID, one per Region.
	AMIs []AMI
	// Elsewhere are AMIs the distribution put in other accounts: not this
	// account's to share, so not part of the approval.
	Elsewhere []AMI
}

// Available says whether the build succeeded and has AMIs to approve.
func (im Image) Available() bool { return im.Status == StatusAvailable }

// AMI is one AMI of a build. Name and Created are EC2's (DescribeImages)
// once a request is made; in a parsed message, Name is the message's.
type AMI struct {
	Region  string
	ID      string
	Name    string
	Created time.Time
}

// imageMessage is the part of Image Builder's message that is read. Fields
// not named here (recipe, infrastructure, a semver too large for any number
// type) are skipped.
type imageMessage struct {
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Type    string `json:"type"`
	State   *struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"state"`
	AccountID       string          `json:"accountId"`
	DateCreated     json.RawMessage `json:"dateCreated"`
	OutputResources struct {
		AMIs []struct {
			Region    string `json:"region"`
			Image     string `json:"image"`
			Name      string `json:"name"`
			AccountID string `json:"accountId"`
		} `json:"amis"`
	} `json:"outputResources"`
}

// maxImageARN bounds an Image Builder image ARN's length.
const maxImageARN = 1024

// ParseImage reads the message Image Builder publishes to its SNS topic when
// an image becomes AVAILABLE or FAILED. Every error wraps ErrNotImage.
func ParseImage(msg []byte) (Image, error) {
	var m imageMessage
	dec := json.NewDecoder(bytes.NewReader(msg))
	if err := dec.Decode(&m); err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if dec.More() {
		return Image{}, fmt.Errorf("%w: data after the JSON object", ErrNotImage)
	}
	// An image build version ARN is far shorter than 1,024 characters; one
	// longer is not Image Builder's, and would be echoed into notices.
	if len(m.ARN) > maxImageARN {
		return Image{}, fmt.Errorf("%w: arn %q is not an Image Builder image ARN: longer than %d characters", ErrNotImage, awsid.Clip(m.ARN, 120), maxImageARN)
	}
	a, err := awsid.ParseImageBuilderImageARN(m.ARN)
	if err != nil {
		return Image{}, fmt.Errorf("%w: arn: %v", ErrNotImage, err)
	}
	if m.State == nil || m.State.Status == "" {
		return Image{}, fmt.Errorf("%w: no state.status", ErrNotImage)
	}
	if m.Type != "" && m.Type != "AMI" {
		return Image{}, fmt.Errorf("%w: image type %q, want AMI", ErrNotImage, awsid.Clip(m.Type, 120))
	}
	im := Image{
		ARN: m.ARN, Name: m.Name, Version: m.Version,
		Status: m.State.Status, Reason: m.State.Reason,
		AccountID: m.AccountID,
		Created:   parseDate(m.DateCreated),
	}
	if im.AccountID == "" {
		im.AccountID = a.AccountID
	}
	seen := map[string]bool{}
	for i, out := range m.OutputResources.AMIs {
		ami := AMI{Region: out.Region, ID: out.Image, Name: out.Name}
		if !awsid.IsRegion(ami.Region) || !awsid.IsAMIID(ami.ID) {
			return Image{}, fmt.Errorf("%w: outputResources.amis[%d]: region %q image %q is not a Region and an AMI ID",
				ErrNotImage, i, awsid.Clip(ami.Region, 120), awsid.Clip(ami.ID, 120))
		}
		if seen[ami.Region+"/"+ami.ID] {
			continue
		}
		seen[ami.Region+"/"+ami.ID] = true
		if out.AccountID != "" && out.AccountID != im.AccountID {
			im.Elsewhere = append(im.Elsewhere, ami)
			continue
		}
		im.AMIs = append(im.AMIs, ami)
	}
	if im.Available() && len(im.AMIs) == 0 {
		return Image{}, fmt.Errorf("%w: AVAILABLE image %s has no AMI in account %s", ErrNotImage, im.ARN, im.AccountID)
	}
	if len(im.AMIs)+len(im.Elsewhere) > maxAMIs {
		return Image{}, fmt.Errorf("%w: %d AMIs, more than the %d one approval handles", ErrNotImage, len(im.AMIs)+len(im.Elsewhere), maxAMIs)
	}
	return im, nil
}

// dateLayouts are the forms Image Builder has used for dates: ISO 8601 in
// the API, Java's default "Mar 2, 2022 7:19:19 AM" (UTC, no zone) in SNS.
var dateLayouts = []string{
	time.RFC3339Nano,
	"Jan 2, 2006 3:04:05 PM",
	"Jan 2, 2006, 3:04:05 PM",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

// parseDate reads a date leniently: a string in one of dateLayouts, or a
// number of seconds or milliseconds since 1970. The date is only shown, so
// anything else is the zero time, not an error.
func parseDate(raw json.RawMessage) time.Time {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return time.Time{}
		}
		v, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || v <= 0 {
			return time.Time{}
		}
		if v > 1e12 { // milliseconds
			return time.UnixMilli(v).UTC()
		}
		return time.Unix(v, 0).UTC()
	}
	// Newer Java versions put a narrow no-break space before AM/PM.
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\u202f' || r == '\u00a0' }), " ")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
