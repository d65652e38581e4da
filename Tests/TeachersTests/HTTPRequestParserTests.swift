import Teachers
import XCTest

/// HTTPRequestParser: the framing `bcsft serve` accepts, the answers for what it refuses, and
/// that no input traps.
final class HTTPRequestParserTests: XCTestCase {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func request(_ s: String, limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) -> (HTTPRequest, Int)? {
        guard case let .request(r, consumed) = HTTPRequestParser.parse(bytes(s), limits: limits) else {
            XCTFail("not a request: \(HTTPRequestParser.parse(bytes(s), limits: limits))", file: file, line: line)
            return nil
        }
        return (r, consumed)
    }

    func assertError(_ s: String, _ status: Int, _ fragment: String = "", limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) {
        assertError(bytes(s), status, fragment, limits: limits, file: file, line: line)
    }

    func assertError(_ b: [UInt8], _ status: Int, _ fragment: String = "", limits: HTTPLimits = HTTPLimits(), file: StaticString = #filePath, line: UInt = #line) {
        guard case let .error(got, message) = HTTPRequestParser.parse(b, limits: limits) else {
            return XCTFail("expected \(status), got \(HTTPRequestParser.parse(b, limits: limits))", file: file, line: line)
        }
        XCTAssertEqual(got, status, message, file: file, line: line)
        XCTAssertTrue(fragment.isEmpty || message.contains(fragment), "'\(message)' lacks '\(fragment)'", file: file, line: line)
    }

    func testRequestsAndKeepAlive() throws {
        let (get, n) = try XCTUnwrap(request("GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertEqual(get.method, "GET")
        XCTAssertEqual(get.target, "/v1/models?x=1")
        XCTAssertEqual(get.path, "/v1/models")
        XCTAssertEqual(get.header("HOST"), "a")
        XCTAssertEqual(get.body, [])
        XCTAssertTrue(get.keepAlive)
        XCTAssertEqual(n, 40)

        let post = "POST /v1/chat/completions HTTP/1.1\r\ncontent-length:  5 \r\nConnection: Keep-Alive, Close\r\n\r\nhello"
        let (p, consumed) = try XCTUnwrap(request(post + "GET /health HTTP/1.1\r\n\r\n"))
        XCTAssertEqual(p.body, bytes("hello"))
        XCTAssertFalse(p.keepAlive, "close wins")
        XCTAssertEqual(consumed, post.utf8.count, "the pipelined request after it is left")

        XCTAssertFalse(try XCTUnwrap(request("GET / HTTP/1.0\r\n\r\n")).0.keepAlive)
        XCTAssertTrue(try XCTUnwrap(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).0.keepAlive)
        // Blank lines before a request line are skipped; a header without a value is empty.
        let (skipped, _) = try XCTUnwrap(request("\r\n\r\nGET / HTTP/1.1\r\nX-Empty:\r\n\r\n"))
        XCTAssertEqual(skipped.header("x-empty"), "")
        // Agreeing Content-Length fields are one; leading zeros are digits.
        XCTAssertEqual(try XCTUnwrap(request("POST / HTTP/1.1\r\nContent-Length: 002\r\nContent-Length: 002\r\n\r\nab")).0.body, bytes("ab"))
        // Field values may hold bytes past ASCII.
        XCTAssertNotNil(request("GET / HTTP/1.1\r\nX-Name: caf\u{e9}\r\n\r\n"))
    }

    func testEveryPrefixIsIncompleteAndSaysHowMuchMore() {
        let whole = bytes("POST /v1/embeddings HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"input\":1}")
        let headLength = whole.count - 11
        for i in 0..<whole.count {
            guard case let .incomplete(needed) = HTTPRequestParser.parse(Array(whole[..<i])) else {
                return XCTFail("prefix of \(i) bytes: \(HTTPRequestParser.parse(Array(whole[..<i])))")
            }
            XCTAssertEqual(needed, i < headLength ? i + 1 : whole.count, "prefix of \(i) bytes")
        }
        XCTAssertEqual(HTTPRequestParser.parse([]), .incomplete(needed: 1))
        XCTAssertNil(HTTPRequestParser.headLength(bytes("\r\n\r\nGET / HTTP/1.1\r\n")))
        XCTAssertEqual(HTTPRequestParser.headLength(bytes("\r\n\r\nGET / HTTP/1.1\r\n\r\nxyz")), 22)
        XCTAssertEqual(HTTPRequestParser.headLength(whole), headLength)
    }

    func testContentLength() {
        for bad in ["-5", "+5", "", "0x10", "5, 5", "1 2", "5.0", "١٢", "5\t5"] {
            assertError("POST / HTTP/1.1\r\nContent-Length: \(bad)\r\n\r\n", 400, "Content-Length")
        }
        for huge in ["9223372036854775807", "9223372036854775808", "18446744073709551616", String(repeating: "9", count: 5000), "8388609"] {
            assertError("POST / HTTP/1.1\r\nContent-Length: \(huge)\r\n\r\n", 413, "8388608")
        }
        XCTAssertEqual(HTTPRequestParser.parse(bytes("POST / HTTP/1.1\r\nContent-Length: 8388608\r\n\r\n")), .incomplete(needed: 8_388_608 + 44))
        let small = HTTPLimits(maxBodyBytes: 10)
        XCTAssertNotNil(request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits: small))
        assertError("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413, "10 bytes", limits: small)
        // A limit of 0 and limits below a single digit.
        assertError("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 413, limits: HTTPLimits(maxBodyBytes: 5))
        assertError("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", 413, limits: HTTPLimits(maxBodyBytes: 0))
        XCTAssertNotNil(request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", limits: HTTPLimits(maxBodyBytes: 0)))
        assertError("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 400, "disagree")
    }

    func testTransferEncodingIsRefused() {
        assertError("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411, "Content-Length")
        assertError("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 411)
        assertError("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello", 400, "both")
        assertError("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\nhello", 400, "both")
    }

    func testHeadLimits() {
        let long = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"
        assertError(long, 431, "65536")
        // Refused before the head ends: the bytes so far already pass the limit.
        assertError(String(long.prefix(66_000)), 431)
        assertError([UInt8](repeating: 13, count: 2) + [UInt8](repeating: UInt8(ascii: "G"), count: 65_600), 431)
        XCTAssertEqual(HTTPRequestParser.parse(Array(repeating: 10, count: 100)), .error(status: 400, message: "malformed request line"))
        let many = "GET / HTTP/1.1\r\n" + (0..<101).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        assertError(many, 431, "100 header fields")
        XCTAssertNotNil(request("GET / HTTP/1.1\r\n" + (0..<100).map { "X-\($0): v\r\n" }.joined() + "\r\n"))
        assertError("GET / HTTP/1.1\r\nA: b\r\n\r\n", 431, limits: HTTPLimits(maxHeadBytes: 20))
        XCTAssertNotNil(request("GET / HTTP/1.1\r\nA: b\r\n\r\n", limits: HTTPLimits(maxHeadBytes: 24)))
    }

    func testMalformedHeads() {
        assertError("GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0")
        assertError("GET / HTTP/1.1 x\r\n\r\n", 400)
        assertError("GET  / HTTP/1.1\r\n\r\n", 400)
        assertError("GET /\u{7f} HTTP/1.1\r\n\r\n", 400, "target")
        assertError("GET / http/1.1\r\n\r\n", 400, "version")
        assertError("GET /\r\n\r\n", 400)
        assertError("G(T / HTTP/1.1\r\n\r\n", 400)
        assertError("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400, "folded")
        assertError("GET / HTTP/1.1\r\nName : v\r\n\r\n", 400, "header name")
        assertError("GET / HTTP/1.1\r\n: v\r\n\r\n", 400)
        assertError("GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400, "colon")
        assertError("GET / HTTP/1.1\r\nA: b\u{1}c\r\n\r\n", 400, "control")
        assertError("GET / HTTP/1.1\r\nA: b\nB: c\r\n\r\n", 400, "bare")
        assertError("GET / HTTP/1.1\rA: b\r\n\r\n", 400)
        // Refused as soon as the request line shows it, without waiting for the head's end.
        assertError([0x16, 0x03, 0x01, 0x02, 0x00], 400)
        assertError("GET /\u{1} HTTP/1.1\r\nHost: a", 400)
        assertError("PRI * HTTP/2.0\r\n", 505)
        for partial in ["GET /a\u{0}", "GET /a b", "GET / HTTX", "GET / HTTP/1.1x", "GET / HTTP/a", " GET", "GET  /", "GET / HTTP/1.1 ", "GET\t/"] {
            assertError(partial, 400, "request line")
        }
        for partial in ["G", "GET", "GET ", "GET /v1", "GET /v1 ", "GET /v1 HTTP/", "GET /v1 HTTP/1.", "GET /v1 HTTP/1.1", "GET /v1 HTTP/1.1\r", "\r"] {
            XCTAssertEqual(HTTPRequestParser.parse(bytes(partial)), .incomplete(needed: partial.utf8.count + 1), partial)
        }
    }

    /// Random bytes and random edits of valid requests: the parser answers every input with a
    /// result that keeps its promises, and never traps (a trap would end the test process).
    func testRandomInputsNeverTrap() {
        var rng = SplitMix(seed: 0x5EED)
        let seeds = [
            "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"n\":100000}",
            "GET /health HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 00000000000000000000000000000000000000009\r\n\r\n123456789",
        ].map(bytes)
        let alphabet = bytes("\r\n:, \t0123456789-+GETPOSHTP/1.chunkedContent-LengthTransfer-Encoding") + [0, 0x7F, 0x80, 0xFF]
        let limits = [HTTPLimits(), HTTPLimits(maxHeadBytes: 40, maxHeaderCount: 2, maxBodyBytes: 8), HTTPLimits(maxHeadBytes: 0, maxHeaderCount: 0, maxBodyBytes: 0),
                      HTTPLimits(maxHeadBytes: -1, maxHeaderCount: -1, maxBodyBytes: -1), HTTPLimits(maxHeadBytes: .max, maxHeaderCount: .max, maxBodyBytes: .max)]
        for i in 0..<30_000 {
            var input: [UInt8]
            if i % 3 == 0 {
                input = (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = seeds[rng.below(seeds.count)]
                for _ in 0..<(1 + rng.below(6)) {
                    let at = rng.below(input.count + 1)
                    let byte = i % 3 == 1 ? alphabet[rng.below(alphabet.count)] : UInt8(truncatingIfNeeded: rng.next())
                    switch rng.below(3) {
                    case 0: input.insert(byte, at: at)
                    case 1: if at < input.count { input.remove(at: at) }
                    default: if at < input.count { input[at] = byte }
                    }
                }
                if rng.below(4) == 0 { input = Array(input.prefix(rng.below(input.count + 1))) }
            }
            let l = limits[rng.below(limits.count)]
            switch HTTPRequestParser.parse(input, limits: l) {
            case let .incomplete(needed):
                XCTAssertGreaterThan(needed, input.count)
            case let .request(r, consumed):
                XCTAssertGreaterThan(consumed, 0)
                XCTAssertLessThanOrEqual(consumed, input.count)
                XCTAssertLessThanOrEqual(r.body.count, max(0, l.maxBodyBytes))
                XCTAssertLessThanOrEqual(consumed - r.body.count, max(0, l.maxHeadBytes))
            case let .error(status, message):
                XCTAssertTrue([400, 411, 413, 431, 505].contains(status), "\(status) \(message)")
                XCTAssertFalse(message.isEmpty)
            }
        }
    }
}

/// SplitMix64, for reproducible random inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}
