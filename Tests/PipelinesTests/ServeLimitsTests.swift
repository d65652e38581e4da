import Foundation
import TestSupport
import XCTest

/// `bcsft serve` against requests no well-behaved client sends: each is answered (or the
/// connection closed) without harming the server or any other connection.
final class ServeLimitsTests: XCTestCase {
    /// A scripted server and its port; terminated when the test ends.
    func serve(_ args: [String] = []) throws -> (Process, Int) {
        let (p, url) = try startServe(["--scripted"] + args)
        addTeardownBlock { p.terminate(); p.waitUntilExit() }
        return (p, url.port!)
    }

    func health(_ port: Int) throws -> Int? {
        let c = try RawConnection(port: port, timeout: 5)
        c.send(rawRequest("GET", "/health"))
        return c.readResponse()?.status
    }

    /// A good chat request on `c`: answered 200 with one choice.
    func assertGoodChat(_ c: RawConnection, _ prompt: String = "Problem: What is 2 + 3?", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody(prompt, ["max_tokens": 50]))), file: file, line: line)
        let r = c.readResponse()
        XCTAssertEqual(r?.status, 200, r.map { String(decoding: $0.body, as: UTF8.self) } ?? "no response", file: file, line: line)
        XCTAssertEqual((r?.json?["choices"] as? [Any])?.count, 1, file: file, line: line)
    }

    // A Content-Length that is negative or does not fit an Int used to trap (a range
    // precondition, an arithmetic overflow) and take the whole server down.
    func testMalformedContentLengthIsRefusedAndTheServerStaysUp() throws {
        let (p, port) = try serve()
        let cases: [(String, Int)] = [("-5", 400), ("9223372036854775807", 413), ("99999999999999999999999999", 413), ("+5", 400),
                                      ("5x", 400), ("0x10", 400), ("", 400), ("5, 6", 400), ("1 2", 400)]
        for (value, status) in cases {
            let c = try RawConnection(port: port, timeout: 5)
            c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\n{}")
            let r = try XCTUnwrap(c.readResponse(), "Content-Length '\(value)': no answer")
            XCTAssertEqual(r.status, status, "Content-Length '\(value)'")
            XCTAssertTrue(r.errorMessage.contains("Content-Length"), r.errorMessage)
            XCTAssertEqual(r.headers["connection"], "close")
            XCTAssertTrue(c.closedByPeer(), "the connection is closed after a framing error")
            XCTAssertTrue(p.isRunning)
            XCTAssertEqual(try health(port), 200)
        }
        // Two Content-Length fields that disagree; two that agree are one.
        let c = try RawConnection(port: port, timeout: 5)
        c.send("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        XCTAssertEqual(c.readResponse()?.status, 400)
        let body = chatRequestBody("Problem: What is 2 + 3?")
        let d = try RawConnection(port: port, timeout: 5)
        d.send(Array("POST /v1/chat/completions HTTP/1.1\r\nContent-Length: \(body.count)\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + Array(body))
        XCTAssertEqual(d.readResponse()?.status, 200)
    }

    // A body used to be buffered whatever its declared length: RSS grew 1:1 with a client that
    // kept sending. Now a Content-Length over the limit is refused as soon as the head arrives.
    func testBodyOverTheLimitIsRefusedBeforeItIsBuffered() throws {
        let (p, port) = try serve()
        let warm = try RawConnection(port: port, timeout: 5)
        assertGoodChat(warm)
        let before = try XCTUnwrap(processMemory(p.processIdentifier))

        let c = try RawConnection(port: port, timeout: 3)
        c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(1 << 40)\r\n\r\n")
        let chunk = [UInt8](repeating: 0x20, count: 1 << 20)
        var sent = 0, answered: RawResponse?
        while sent < 48, answered == nil {
            guard c.send(chunk) else { break }
            sent += 1
            var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 { answered = c.readResponse() }
        }
        if answered == nil { answered = c.readResponse() }
        XCTAssertEqual(answered?.status, 413, "refused while the client was still sending (\(sent) MiB sent)")
        XCTAssertTrue(answered?.errorMessage.contains("8388608") ?? false, answered?.errorMessage ?? "")
        let after = try XCTUnwrap(processMemory(p.processIdentifier))
        XCTAssertLessThan(after.peak - before.rss, 16 << 10, "peak RSS grew by \(after.peak - before.rss) KiB")
        XCTAssertEqual(try health(port), 200)
    }

    // n = 200000 used to hold the server for half a minute and n = 10^7 to grow it until killed.
    func testHugeNIsRefusedAtOnce() throws {
        let (p, port) = try serve()
        for n in [200_000, 10_000_000] {
            let c = try RawConnection(port: port, timeout: 10)
            let start = Date()
            c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: What is 2 + 3?", ["n": n])))
            let r = try XCTUnwrap(c.readResponse(), "n = \(n): no answer within 10 s")
            guard r.status == 400 else { return XCTFail("n = \(n): HTTP \(r.status)") }
            XCTAssertLessThan(Date().timeIntervalSince(start), 2)
            XCTAssertTrue(r.errorMessage.contains("'n'") && r.errorMessage.contains("16"), r.errorMessage)
            XCTAssertEqual(((r.json?["error"] as? [String: Any])?["param"] as? String), "n")
            assertGoodChat(c)  // the same connection goes on
        }
        XCTAssertTrue(p.isRunning)
    }

    func testMaxTokensOverTheLimitIsRefusedNotClamped() throws {
        let (_, port) = try serve()
        let c = try RawConnection(port: port, timeout: 10)
        for (field, value) in [("max_tokens", 1_000_000_000_000), ("max_completion_tokens", 40000), ("max_tokens", 0), ("max_tokens", -3)] {
            c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: What is 2 + 3?", [field: value])))
            let r = try XCTUnwrap(c.readResponse(), "\(field) = \(value): no answer")
            guard r.status == 400 else { return XCTFail("\(field) = \(value): HTTP \(r.status)") }
            XCTAssertTrue(r.errorMessage.contains("'\(field)'") && r.errorMessage.contains("32768"), r.errorMessage)
        }
        c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: What is 2 + 3?", ["max_tokens": 32768, "n": 16])))
        XCTAssertEqual(c.readResponse()?.status, 200, "the limits themselves are allowed")
    }

    /// Every kind of bad request once, from several clients at once, between good requests:
    /// each bad one gets its answer (or its connection closed), every good one is answered.
    func testBadRequestsAmongGoodOnesFromSeveralClients() throws {
        let (p, port) = try serve(["--idle-timeout", "2", "--max-body-bytes", "1048576"])
        let chat = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        /// A bad request: what it sends, and the status it must get (nil: just the connection closed).
        typealias Bad = (name: String, status: Int?, act: @Sendable (RawConnection) -> Void)
        let bad: [Bad] = [
            ("negative Content-Length", 400, { $0.send(chat + "Content-Length: -5\r\n\r\n") }),
            ("Content-Length Int.max", 413, { $0.send(chat + "Content-Length: 9223372036854775807\r\n\r\n") }),
            ("keeps sending", 413, { c in
                c.send(chat + "Content-Length: \(1 << 40)\r\n\r\n")
                for _ in 0..<4 { if !c.send([UInt8](repeating: 32, count: 1 << 20)) { break } }
            }),
            ("body over --max-body-bytes", 413, { $0.send(chat + "Content-Length: 2097152\r\n\r\n") }),
            ("100 KiB header", 431, { $0.send(chat + "X-Big: " + String(repeating: "a", count: 100 << 10) + "\r\n\r\n") }),
            ("endless head", 431, { c in for _ in 0..<10 { if !c.send(String(repeating: "a", count: 8 << 10)) { break } } }),
            ("garbage bytes", 400, { c in
                var g = SystemRandomNumberGenerator()
                c.send((0..<4096).map { _ in UInt8.random(in: 0...255, using: &g) })
            }),
            ("chunked", 411, { $0.send(chat + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n") }),
            ("Content-Length and Transfer-Encoding", 400, { $0.send(chat + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello") }),
            ("n = 10^7", 400, { $0.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: 2 + 3?", ["n": 10_000_000]))) }),
            ("max_tokens = 10^12", 400, {
                $0.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: 2 + 3?", ["max_tokens": 1_000_000_000_000])))
            }),
            ("deeply nested JSON", 400, { $0.send(rawRequest("POST", "/v1/chat/completions", body: Data(String(repeating: "[", count: 500_000).utf8))) }),
            ("slowloris", 408, { c in
                for b in rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("hi")) {
                    guard c.send([b]) else { return }
                    var pfd = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
                    if poll(&pfd, 1, 250) > 0 { return }
                }
            }),
            ("idle", nil, { _ in }),
            ("half a request, then gone", nil, { c in
                c.send(Array(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("hi")).prefix(60)))
                shutdown(c.fd, Int32(SHUT_RDWR))
            }),
            ("a whole request, then gone", nil, { c in
                c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: 2 + 3?")))
                shutdown(c.fd, Int32(SHUT_RDWR))
            }),
        ]
        let clients = 4
        let failures = LockedArray<String>(), good = LockedArray<Double>()
        let started = Date()
        DispatchQueue.concurrentPerform(iterations: clients) { k in
            func goodRequest() {
                let t = Date()
                guard let c = try? RawConnection(port: port, timeout: 10) else { return failures.append("client \(k): cannot connect") }
                c.send(rawRequest("POST", "/v1/chat/completions", body: chatRequestBody("Problem: What is \(k) + 3?", ["max_tokens": 50])))
                let r = c.readResponse()
                if r?.status == 200, (r?.json?["choices"] as? [Any])?.count == 1 { good.append(Date().timeIntervalSince(t)) } else {
                    failures.append("client \(k): good request got \(r.map { "\($0.status) \($0.errorMessage)" } ?? "no answer")")
                }
            }
            goodRequest()
            for b in bad.indices where b % clients == k {
                guard let c = try? RawConnection(port: port, timeout: 6) else { return failures.append("\(bad[b].name): cannot connect") }
                bad[b].act(c)
                if let status = bad[b].status {
                    let r = c.readResponse()
                    if r?.status != status { failures.append("\(bad[b].name): \(r.map { "HTTP \($0.status)" } ?? "no answer"), expected \(status)") }
                } else if !c.closedByPeer() && c.readResponse() == nil {
                    failures.append("\(bad[b].name): the connection stayed open")
                }
                for _ in 0..<3 { goodRequest() }
            }
        }
        XCTAssertEqual(failures.values, [])
        XCTAssertEqual(good.values.count, clients + 3 * bad.count)
        XCTAssertTrue(p.isRunning)
        XCTAssertEqual(try health(port), 200)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
    }
}
