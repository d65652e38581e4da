/// Limits on one HTTP request, checked as its bytes arrive.
public struct HTTPLimits: Sendable, Equatable {
    /// The request line, header fields and the blank line that ends them, in bytes (431 above it).
    public var maxHeadBytes = 64 * 1024
    /// Header fields in one request (431 above it).
    public var maxHeaderCount = 100
    /// The body, in bytes: a larger Content-Length is refused (413) before any of it is read.
    public var maxBodyBytes = 8 * 1024 * 1024

    public init(maxHeadBytes: Int = 64 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 8 * 1024 * 1024) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
    }
}

/// One parsed HTTP/1.x request.
public struct HTTPRequest: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
    }
    public var method: String
    /// The request target as sent: a path, possibly with a query.
    public var target: String
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    /// In the order sent; names as sent (compare them case-insensitively).
    public var fields: [Field]
    public var body: [UInt8]
    /// Whether the connection stays open after the answer: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool

    /// The target without its query.
    public var path: String { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target }

    /// The first field with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }
}

public enum HTTPParseResult: Sendable, Equatable {
    /// More bytes are needed: parse again once the buffer holds at least `needed` bytes (the
    /// whole head and body, once the head has arrived and gave the body's length).
    case incomplete(needed: Int)
    /// A whole request, taking the buffer's first `consumed` bytes (a pipelined request may follow).
    case request(HTTPRequest, consumed: Int)
    /// The bytes cannot become a request this server accepts: answer `status` and close the
    /// connection (the framing of anything after them is unknown).
    case error(status: Int, message: String)
}

/// HTTP/1.x request framing (RFC 9112) as a pure function over the bytes received so far: no
/// sockets, no state, so it can be tested and fuzzed directly. It never traps: every index is
/// checked and every number parsed with an overflow guard.
///
/// What it accepts, and the answers for what it does not:
/// - request line `METHOD SP TARGET SP HTTP/1.x` (empty lines before it are skipped); a method
///   that is not a token, a target with bytes outside visible ASCII, a missing part: 400; a
///   version other than HTTP/1.0 and HTTP/1.1: 505.
/// - header fields `name: value`, each line ended by CRLF; a name that is not a token (or has
///   whitespace before the colon), a line folded onto the previous one (obsolete), control
///   characters or a bare CR or LF: 400.
/// - a head longer than `maxHeadBytes` or more than `maxHeaderCount` fields: 431.
/// - the body's length from `Content-Length`: digits only (no sign, space or list), at most
///   `maxBodyBytes` (413 above it, checked without overflow however many digits), several
///   fields only when they agree; otherwise 400. No Content-Length is an empty body.
/// - `Transfer-Encoding` is not supported: with a Content-Length too it is 400 (the framing is
///   ambiguous, a request-smuggling pattern), alone (chunked) 411 Length Required.
public enum HTTPRequestParser {
    static let cr: UInt8 = 13, lf: UInt8 = 10, sp: UInt8 = 32, tab: UInt8 = 9, colon: UInt8 = 58

    public static func parse(_ buffer: [UInt8], limits: HTTPLimits = HTTPLimits()) -> HTTPParseResult {
        let maxHead = max(0, limits.maxHeadBytes)
        // Empty lines before a request line are skipped (RFC 9112 section 2.2); they count toward the head.
        var start = 0
        while start + 1 < buffer.count, buffer[start] == cr, buffer[start + 1] == lf { start += 2 }
        guard let end = headEnd(buffer, from: start) else {
            if buffer.count > maxHead { return .error(status: 431, message: "request line and headers exceed \(maxHead) bytes") }
            // Refuse early what cannot become a request line, without waiting for the rest of it.
            if let error = checkPartialRequestLine(buffer, from: start) { return error }
            return .incomplete(needed: buffer.count + 1)
        }
        let bodyStart = end + 4
        if bodyStart > maxHead { return .error(status: 431, message: "request line and headers exceed \(maxHead) bytes") }

        let lines = splitLines(buffer, from: start, to: end)
        guard let first = lines.first else { return .error(status: 400, message: "no request line") }
        if lines.contains(where: { hasBareCRorLF(buffer, $0) }) {
            return .error(status: 400, message: "a bare CR or LF inside the head; lines end with CRLF")
        }
        let requestLine: (method: String, target: String, version: String)
        switch parseRequestLine(buffer, first) {
        case let .success(r): requestLine = r
        case let .failure(e): return .error(status: e.status, message: e.message)
        }

        var fields: [HTTPRequest.Field] = []
        for line in lines.dropFirst() {
            if fields.count >= max(0, limits.maxHeaderCount) {
                return .error(status: 431, message: "more than \(max(0, limits.maxHeaderCount)) header fields")
            }
            switch parseField(buffer, line) {
            case let .success(f): fields.append(f)
            case let .failure(e): return .error(status: e.status, message: e.message)
            }
        }

        // Framing of the body (RFC 9112 section 6).
        let lengths = fields.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        let encodings = fields.filter { $0.name.lowercased() == "transfer-encoding" }
        if !encodings.isEmpty {
            if !lengths.isEmpty {
                return .error(status: 400, message: "both Content-Length and Transfer-Encoding are given; send only Content-Length")
            }
            return .error(status: 411, message: "Transfer-Encoding '\(clip(encodings[0].value))' is not supported; send the body with a Content-Length")
        }
        var length = 0
        if let firstLength = lengths.first {
            guard lengths.allSatisfy({ $0 == firstLength }) else { return .error(status: 400, message: "Content-Length fields disagree") }
            switch parseLength(firstLength, limit: max(0, limits.maxBodyBytes)) {
            case let .success(n): length = n
            case let .failure(e): return .error(status: e.status, message: e.message)
            }
        }
        // bodyStart <= maxHead and length <= maxBodyBytes: both are Ints that came from limits, so
        // their sum could overflow only for absurd limits; check anyway.
        let (total, overflow) = bodyStart.addingReportingOverflow(length)
        if overflow { return .error(status: 413, message: "request too large") }
        if buffer.count < total { return .incomplete(needed: total) }

        let connection = fields.filter { $0.name.lowercased() == "connection" }
            .flatMap { $0.value.lowercased().split(separator: ",").map(trimWhitespace) }
        let keepAlive = connection.contains("close") ? false : (requestLine.version == "HTTP/1.1" || connection.contains("keep-alive"))
        let request = HTTPRequest(method: requestLine.method, target: requestLine.target, version: requestLine.version, fields: fields,
                                  body: Array(buffer[bodyStart..<total]), keepAlive: keepAlive)
        return .request(request, consumed: total)
    }

    /// The head's length (with any blank lines before it and the CRLFCRLF that ends it) once it
    /// has all arrived; nil before.
    public static func headLength(_ buffer: [UInt8]) -> Int? {
        var start = 0
        while start + 1 < buffer.count, buffer[start] == cr, buffer[start + 1] == lf { start += 2 }
        return headEnd(buffer, from: start).map { $0 + 4 }
    }

    /// The index of the CRLFCRLF that ends the head, searching from `from`; nil when it has not arrived.
    public static func headEnd(_ buffer: [UInt8], from: Int = 0) -> Int? {
        guard buffer.count >= 4 else { return nil }
        var i = max(0, from)
        while i + 3 < buffer.count {
            if buffer[i + 3] != lf { i += buffer[i + 3] == cr ? 1 : 4; continue }
            if buffer[i] == cr, buffer[i + 1] == lf, buffer[i + 2] == cr { return i }
            i += 1
        }
        return nil
    }

    // MARK: pieces

    struct Failure: Error { let status: Int; let message: String }

    /// Byte ranges of the head's lines (CRLF-separated), from `from` up to `to` (the final CRLFCRLF's start).
    static func splitLines(_ b: [UInt8], from: Int, to: Int) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var lineStart = from, i = from
        while i + 1 < to {
            if b[i] == cr, b[i + 1] == lf {
                lines.append(lineStart..<i)
                i += 2
                lineStart = i
            } else {
                i += 1
            }
        }
        lines.append(lineStart..<to)
        return lines
    }

    static func hasBareCRorLF(_ b: [UInt8], _ r: Range<Int>) -> Bool { b[r].contains(cr) || b[r].contains(lf) }

    /// tchar (RFC 9110 section 5.6.2): the bytes of a method or a field name.
    static func isToken(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    static func ascii(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    static func trimWhitespace(_ s: Substring) -> String {
        var t = s
        while let c = t.first, c == " " || c == "\t" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\t" { t = t.dropLast() }
        return String(t)
    }

    /// A value for an error message: at most 40 characters.
    static func clip(_ s: String) -> String { s.count > 40 ? String(s.prefix(40)) + "..." : s }

    /// A head still arriving: 400 as soon as its request line cannot become a valid one (a
    /// method byte no method has, a target byte outside visible ASCII, a version that is not
    /// becoming HTTP/d.d, a whole line that is malformed), without waiting for the rest.
    static func checkPartialRequestLine(_ b: [UInt8], from: Int) -> HTTPParseResult? {
        var j = from
        while j + 1 < b.count, !(b[j] == cr && b[j + 1] == lf) { j += 1 }
        if j + 1 < b.count {
            if case let .failure(e) = parseRequestLine(b, from..<j) { return .error(status: e.status, message: e.message) }
            if hasBareCRorLF(b, from..<j) { return .error(status: 400, message: "a bare CR or LF inside the head; lines end with CRLF") }
            return nil
        }
        // The line so far; a CR at the very end may begin its CRLF.
        var end = b.count
        if end > from, b[end - 1] == cr { end -= 1 }
        let parts = b[from..<end].split(separator: sp, maxSplits: 3, omittingEmptySubsequences: false)
        let bad = HTTPParseResult.error(status: 400, message: "malformed request line")
        if parts.count > 3 { return bad }
        if !parts[0].allSatisfy(isToken) || (parts.count > 1 && parts[0].isEmpty) { return bad }
        if parts.count > 1, !parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) || (parts.count > 2 && parts[1].isEmpty) { return bad }
        if parts.count > 2 {
            // A prefix of HTTP/d.d.
            let pattern = Array("HTTP/0.0".utf8)
            for (k, c) in parts[2].enumerated() {
                guard k < pattern.count else { return bad }
                let ok = pattern[k] == 0x30 ? (0x30...0x39).contains(c) : c == pattern[k]
                if !ok { return bad }
            }
        }
        return nil
    }

    static func parseRequestLine(_ b: [UInt8], _ r: Range<Int>) -> Result<(method: String, target: String, version: String), Failure> {
        let parts = b[r].split(separator: sp, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            return .failure(Failure(status: 400, message: "malformed request line; expected METHOD TARGET HTTP/1.1"))
        }
        guard parts[0].allSatisfy(isToken) else { return .failure(Failure(status: 400, message: "malformed method")) }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .failure(Failure(status: 400, message: "malformed request target")) }
        let version = ascii(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            let v = Array(parts[2])
            let looksLikeHTTP = v.count == 8 && ascii(parts[2].prefix(5)) == "HTTP/" && (0x30...0x39).contains(v[5]) && v[6] == UInt8(ascii: ".")
                && (0x30...0x39).contains(v[7])
            return .failure(looksLikeHTTP ? Failure(status: 505, message: "\(version) is not supported; use HTTP/1.1")
                                          : Failure(status: 400, message: "malformed HTTP version"))
        }
        return .success((ascii(parts[0]), ascii(parts[1]), version))
    }

    static func parseField(_ b: [UInt8], _ r: Range<Int>) -> Result<HTTPRequest.Field, Failure> {
        guard let first = b[r].first else { return .failure(Failure(status: 400, message: "empty header line")) }
        if first == sp || first == tab { return .failure(Failure(status: 400, message: "folded header lines are not accepted")) }
        guard let c = b[r].firstIndex(of: colon) else { return .failure(Failure(status: 400, message: "a header line without a colon")) }
        let name = b[r.lowerBound..<c]
        guard !name.isEmpty, name.allSatisfy(isToken) else {
            return .failure(Failure(status: 400, message: "malformed header name '\(clip(ascii(name)))'"))
        }
        var lo = c + 1, hi = r.upperBound
        while lo < hi, b[lo] == sp || b[lo] == tab { lo += 1 }
        while hi > lo, b[hi - 1] == sp || b[hi - 1] == tab { hi -= 1 }
        let value = b[lo..<hi]
        // Field values: visible characters, spaces, tabs and obs-text (bytes 0x80 and up).
        guard value.allSatisfy({ $0 == tab || ($0 >= 0x20 && $0 != 0x7F) }) else {
            return .failure(Failure(status: 400, message: "a control character in header '\(clip(ascii(name)))'"))
        }
        return .success(HTTPRequest.Field(name: ascii(name), value: ascii(value)))
    }

    /// Content-Length: 1*DIGIT, at most `limit`. Parsed digit by digit and stopped as soon as it
    /// passes the limit, so no count of digits can overflow.
    static func parseLength(_ s: String, limit: Int) -> Result<Int, Failure> {
        let digits = Array(s.utf8)
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return .failure(Failure(status: 400, message: "Content-Length '\(clip(s))' is not a decimal number of bytes"))
        }
        var n = 0  // always <= limit, so n * 10 below cannot overflow once checked against limit / 10
        for d in digits {
            let digit = Int(d - 0x30)
            if n > limit / 10 || (n == limit / 10 && digit > limit % 10) {
                return .failure(Failure(status: 413, message: "Content-Length \(clip(s)) exceeds this server's body limit of \(limit) bytes"))
            }
            n = n * 10 + digit
        }
        return .success(n)
    }
}
