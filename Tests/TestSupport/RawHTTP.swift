import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to a server on loopback, for tests that send what no HTTP client would:
/// malformed framing, oversized heads and bodies, bytes one at a time. Reads and writes time
/// out after `timeout` seconds, so a server that never answers fails a test instead of hanging it.
public final class RawConnection {
    public let fd: Int32
    private var pending: [UInt8] = []

    public init(port: Int, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError("socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            throw RawHTTPError("cannot connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        setTimeout(timeout)
    }

    deinit { close(fd) }

    /// Read and write timeouts from now on.
    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends every byte; false when the peer closed or reset the connection, or the write timed out.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads one response; nil when the connection closed or the read timed out before a whole one came.
    public func readResponse() -> RawResponse? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if pending.count >= 4 { headEnd = (0...(pending.count - 4)).first { Array(pending[$0..<$0 + 4]) == separator } }
            if headEnd == nil, !fill() { return nil }
        }
        let head = String(decoding: pending[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let c = line.firstIndex(of: ":") else { continue }
            headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let start = headEnd! + 4
        while pending.count < start + length { if !fill() { return nil } }
        let body = Data(pending[start..<start + length])
        pending.removeFirst(start + length)
        return RawResponse(status: status, headers: headers, body: body)
    }

    /// Whether the peer closes the connection (recv sees end of stream or a reset) before the
    /// read timeout; bytes that arrive meanwhile are kept for readResponse.
    public func closedByPeer() -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            pending += chunk[..<n]
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        pending += chunk[..<n]
        return true
    }
}

public struct RawResponse {
    public let status: Int
    public let headers: [String: String]
    public let body: Data
    public var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    /// The message of an OpenAI-style error body ({"error": {"message": ...}}), or "".
    public var errorMessage: String { ((json?["error"] as? [String: Any])?["message"] as? String) ?? "" }
}

public struct RawHTTPError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A whole HTTP/1.1 request with a Content-Length body.
public func rawRequest(_ method: String, _ path: String, body: Data = Data(), headers: [String] = []) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for h in headers { head += h + "\r\n" }
    if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\nContent-Type: application/json\r\n" }
    return Array((head + "\r\n").utf8) + Array(body)
}

/// A chat completion request's JSON body: one user message and the given extra fields.
public func chatRequestBody(_ prompt: String, _ extra: [String: Any] = [:]) -> Data {
    var o: [String: Any] = ["model": "scripted-teacher", "messages": [["role": "user", "content": prompt]]]
    for (k, v) in extra { o[k] = v }
    return try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
}

/// A process's memory figures in KiB from /proc/PID/status: VmRSS (now) and VmHWM (peak).
public func processMemory(_ pid: Int32) -> (rss: Int, peak: Int)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    func field(_ name: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    }
    guard let rss = field("VmRSS"), let peak = field("VmHWM") else { return nil }
    return (rss, peak)
}

/// An array that threads append to.
public final class LockedArray<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    public init() {}
    public func append(_ x: T) { lock.withLock { items.append(x) } }
    public var values: [T] { lock.withLock { items } }
}
