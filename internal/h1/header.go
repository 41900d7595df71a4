package h1

import "bytes"

// header parses the header line b[ls:le] (line end excluded, not empty).
func (p *reqParser) header(ls, le int) {
	b, r := p.b, p.r
	line := b[ls:le:le]
	if isOWS(line[0]) {
		p.continuation(ls, le)
		return
	}
	// The name is usually a token up to the colon: scan for both at once.
	colon := 0
	for colon < len(line) && nameTable[line[colon]] == 0 {
		colon++
	}
	var nf uint8
	if colon == len(line) || line[colon] != ':' {
		i := bytes.IndexByte(line[colon:], ':')
		if i >= 0 {
			nf = scan(line[colon:colon+i], &nameTable)
			colon += i
		} else {
			colon = -1
		}
	}
	if colon < 0 {
		// The guardian's MissingHeaderColon. The line is not a field, so it
		// is not in Headers; a NUL or CR in it is still BadHeader.
		p.set(ReasonMissingHeaderColon)
		if f := scan(line, &valueTable); f&cBad != 0 {
			p.set(ReasonBadHeader)
			p.bareCR = p.bareCR || f&cCR != 0
		}
		p.last = -1
		return
	}
	name := line[:colon:colon]
	vs, ve := ls+colon+1, le
	for vs < ve && isOWS(b[vs]) {
		vs++
	}
	for ve > vs && isOWS(b[ve-1]) {
		ve--
	}
	value := b[vs:ve:ve]

	kind := kOther
	switch {
	case len(name) == 0:
		p.set(ReasonEmptyHeader)
	case nf&cBad != 0:
		p.set(ReasonBadHeader)
		p.bareCR = p.bareCR || nf&cCR != 0
	case nf == 0:
		kind = kindOf(name)
	}
	if kind == kOther {
		if k := lookalike(name); k != kOther {
			kind = k
			p.set(ReasonSuspiciousHeader)
		} else if nf == cNonCompliant {
			p.set(ReasonNonCompliantHeader)
		}
	}
	if vf := scanValue(value); vf != 0 {
		if vf&cBad != 0 {
			p.set(ReasonBadHeader)
			p.bareCR = p.bareCR || vf&cCR != 0
		}
		if vf&cNonCompliant != 0 {
			p.set(ReasonNonCompliantHeader)
		}
	}

	switch kind {
	case kHost:
		p.hosts++
		if p.hosts == 1 {
			r.Host = value
		}
	case kContentLength:
		p.cl.add(value, true)
	case kLikeContentLength:
		p.cl.add(value, false)
	case kTransferEncoding:
		p.te.add(value, true)
	case kLikeTransferEncoding:
		p.te.add(value, false)
	case kConnection:
		p.connection(value)
	case kUpgrade:
		p.upgradeHdr = p.upgradeHdr || len(value) > 0
	case kExpect:
		p.expect100 = p.expect100 || EqualFold(value, "100-continue")
	}
	r.Headers = append(r.Headers, Header{Name: name, Value: value})
	p.last, p.lastKind, p.lastVS = len(r.Headers)-1, kind, vs
}

func (p *reqParser) connection(v []byte) {
	for len(v) > 0 {
		var tok []byte
		tok, v = nextElement(v)
		switch {
		case EqualFold(tok, "close"):
			p.connClose = true
		case EqualFold(tok, "keep-alive"):
			p.connKeep = true
		case EqualFold(tok, "upgrade"):
			p.connUpg = true
		}
	}
}

// continuation handles a line starting with SP or HTAB: obs-fold, which
// RFC 9112 §5.2 deprecates. It is MultilineHeader (Ambiguous), except after
// Content-Type (the guardian's message/http exception), and the value it
// continues is extended over it. Folding Transfer-Encoding, Content-Length
// or Host, or a continuation with no field to continue (the first header
// line, or after a line without a colon), is BadHeader: RFC 9112 §2.2 says
// to reject the latter, and a parser without obs-fold support would take
// " Transfer-Encoding: chunked" as a field of its own. Such a lookalike
// continuation is also SuspiciousHeader and counts as a framing header for
// the duplicate and value checks, as it does in the guardian.
func (p *reqParser) continuation(ls, le int) {
	b, r := p.b, p.r
	cs, ce := ls, le
	for cs < ce && isOWS(b[cs]) {
		cs++
	}
	for ce > cs && isOWS(b[ce-1]) {
		ce--
	}
	content := b[cs:ce:ce]
	if len(content) == 0 {
		// A whitespace-only line, which some parsers take for the end of
		// the head.
		p.set(ReasonEmptyHeader)
	}
	if p.last < 0 || p.lastKind != kContentType {
		p.set(ReasonMultilineHeader)
	}
	if f := scanValue(content); f != 0 {
		if f&cBad != 0 {
			p.set(ReasonBadHeader)
			p.bareCR = p.bareCR || f&cCR != 0
		}
		if f&cNonCompliant != 0 {
			p.set(ReasonNonCompliantHeader)
		}
	}
	if p.last < 0 {
		p.set(ReasonBadHeader)
	} else if len(content) > 0 {
		switch p.lastKind {
		case kContentLength, kTransferEncoding, kLikeContentLength, kLikeTransferEncoding:
			p.foldedCLTE = true
			p.set(ReasonBadHeader)
		case kHost:
			p.set(ReasonBadHeader)
		}
		h := &r.Headers[p.last]
		if len(h.Value) == 0 {
			p.lastVS = cs
		}
		h.Value = b[p.lastVS:ce:ce]
		r.Folded = true
	}
	if c := bytes.IndexByte(content, ':'); c > 0 {
		name, value := content[:c], trimOWS(content[c+1:])
		k := kOther
		if isToken(name) {
			k = kindOf(name)
		}
		switch {
		case k == kTransferEncoding || k == kOther && lookalike(name) == kLikeTransferEncoding:
			p.set(ReasonSuspiciousHeader)
			p.te.add(value, false)
		case k == kContentLength || k == kOther && lookalike(name) == kLikeContentLength:
			p.set(ReasonSuspiciousHeader)
			p.cl.add(value, false)
		}
	}
}

// finish applies the whole-head rules: framing, GET/HEAD and version
// semantics, connection management, and the verdict.
func (p *reqParser) finish() {
	r := p.r
	get := string(r.Method) == "GET" || string(r.Method) == "HEAD"
	http11 := r.Major == 1 && r.Minor == 1

	cl := &p.cl
	if cl.bad {
		p.set(ReasonBadContentLength)
	}
	if cl.multiple {
		p.set(ReasonMultipleContentLength)
	}
	if cl.dup {
		p.set(ReasonDuplicateContentLength)
	}
	if cl.zeros {
		// "Content-Length: 0012" is 12 to every decimal parser, but not
		// the canonical form.
		p.set(ReasonNonCompliantHeader)
	}
	te := &p.te
	if te.chunked > 1 {
		p.set(ReasonMultipleTransferEncodingChunked)
	}
	if te.realChunked > 0 && !te.lastChunked {
		te.bad = true // chunked must be the final coding (RFC 9112 §6.1)
	}
	if te.bad {
		p.set(ReasonBadTransferEncoding)
		r.TEUnsupported = te.unsupported && !te.garbage
	}

	if te.real {
		// The guardian: Transfer-Encoding has no defined meaning for GET
		// and HEAD, nor before HTTP/1.1 (RFC 9112 §6.1 says to treat the
		// framing as faulty). sluice still frames such a request as chunked
		// when chunked is the final coding: the request is Ambiguous, so
		// both connections are closed after it.
		if get || !http11 {
			p.set(ReasonUndefinedTransferEncodingSemantics)
		}
		if cl.real {
			p.set(ReasonBothTeClPresent)
		}
		r.Chunked = te.lastChunked
	}
	if cl.realOK {
		switch {
		case get && cl.realN == 0:
			p.set(ReasonGetHeadZeroContentLength)
		case get || r.Major == 0:
			p.set(ReasonUndefinedContentLengthSemantics)
		}
		if !r.Chunked {
			r.ContentLength = cl.realN
		}
	}

	const badFraming = 1<<ReasonMultipleContentLength | 1<<ReasonBadContentLength |
		1<<ReasonBadTransferEncoding | 1<<ReasonMultipleTransferEncodingChunked
	r.FramingOK = p.mask&badFraming == 0 && !p.foldedCLTE && !p.bareCR

	switch {
	case http11:
		r.KeepAlive = !p.connClose
	case r.Major == 1:
		r.KeepAlive = p.connKeep && !p.connClose
	}
	// RFC 9110 §7.8: Upgrade is ignored in an HTTP/1.0 request.
	r.Upgrade = http11 && p.connUpg && p.upgradeHdr
	r.Expect100 = http11 && p.expect100
	if p.targetHost != nil {
		// RFC 9112 §3.2.2: the target's authority overrides Host.
		r.Host = p.targetHost
	}

	r.Reasons = p.mask
	r.Class, r.Reason = verdict(p.mask)
}
