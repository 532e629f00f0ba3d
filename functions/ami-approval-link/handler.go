package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

type handler struct {
	decider *approval.Decider
	log     *slog.Logger
	Now     func() time.Time  // for the page's "expires in"; the wall clock when nil
	metrics *metrics.Recorder // nil records nothing
}

// Handle answers every request with a page and a status, never an error:
// API Gateway would turn one into a bare 500. GET only reads; POST decides.
func (h *handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	defer h.metrics.Flush()
	lr, err := approval.ParseLinkRequest(req)
	if err != nil {
		return h.refuse(ctx, lr, err), nil
	}
	if lr.Method == http.MethodGet {
		r, st, err := h.decider.View(ctx, lr.Token)
		if err != nil {
			return h.refuse(ctx, lr, err), nil
		}
		h.log.InfoContext(ctx, "page viewed", "ref", r.Ref, "decision", r.Decision, "outcome", r.Outcome, "workflowStep", st != nil, "sourceIp", lr.Who.SourceIP)
		if st != nil {
			return render(stepPage(r, *st, lr.Token, h.now(), false)), nil
		}
		return render(requestPage(r, lr.Token, h.now())), nil
	}
	res, err := h.decider.Decide(ctx, lr.Token, lr.Decision, lr.Who)
	if err != nil {
		return h.refuse(ctx, lr, err), nil
	}
	h.countDecision(res)
	if res.Pending {
		return render(pendingPage(res, h.now())), nil
	}
	if res.Step != nil {
		return render(stepPage(res.Request, *res.Step, lr.Token, h.now(), res.Repeated)), nil
	}
	return render(resultPage(res, lr.Token, h.now())), nil
}

// countDecision records a decision made now, by its outcome (shared,
// refused, failed, rejected); a repeated one changed nothing. Both the SNS
// flow and the workflow mode count theirs here.
func (h *handler) countDecision(res approval.Result) {
	if res.Pending {
		// A named approver's vote short of the quorum (or counted before).
		reason := "counted"
		if res.Repeated {
			reason = "repeated"
		}
		h.metrics.AddReason("ApprovalVotes", reason, 1)
		return
	}
	if res.Repeated {
		h.metrics.AddReason("ApprovalDecisionsRepeated", res.Request.Outcome, 1)
	} else {
		h.metrics.AddReason("ApprovalDecisions", res.Request.Outcome, 1)
	}
}

// refuse answers a request that led to no page of a request, with a status
// page that says no more than the status: an unknown and a malformed token
// look the same.
func (h *handler) refuse(ctx context.Context, lr approval.LinkRequest, err error) events.APIGatewayV2HTTPResponse {
	var status int
	switch {
	case errors.Is(err, approval.ErrMethod):
		status = http.StatusMethodNotAllowed
	case errors.Is(err, approval.ErrNoToken), errors.Is(err, approval.ErrBadDecision), errors.Is(err, approval.ErrBadForm):
		status = http.StatusBadRequest
	case errors.Is(err, approval.ErrTampered):
		// A record that does not verify is answered as an unknown token:
		// the page tells the holder of the link nothing more, the metric
		// and the log tell the operators.
		h.metrics.AddReason("ApprovalRecordsTampered", "page", 1)
		h.log.ErrorContext(ctx, "record refused as tampered: nothing done", "method", lr.Method, "sourceIp", lr.Who.SourceIP, "error", err.Error())
		return render(statusPage(http.StatusNotFound))
	case errors.Is(err, approval.ErrUnknownToken):
		status = http.StatusNotFound
	case errors.Is(err, approval.ErrExpired):
		status = http.StatusGone
	default:
		h.metrics.AddReason("ApprovalPagesRefused", "error", 1)
		h.log.ErrorContext(ctx, "request failed", "method", lr.Method, "sourceIp", lr.Who.SourceIP, "error", err.Error())
		return render(statusPage(http.StatusServiceUnavailable))
	}
	h.metrics.AddReason("ApprovalPagesRefused", http.StatusText(status), 1)
	h.log.InfoContext(ctx, "request refused", "status", status, "method", lr.Method, "sourceIp", lr.Who.SourceIP, "reason", err.Error())
	resp := render(statusPage(status))
	if status == http.StatusMethodNotAllowed {
		resp.Headers["Allow"] = "GET, POST"
	}
	return resp
}

func (h *handler) now() time.Time { return clock.Now(h.Now) }
