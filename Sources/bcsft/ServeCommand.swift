import ArgumentParser
import Foundation
import Backends
import Pipelines
import Teachers
import World

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over the OpenAI-compatible HTTP API on loopback: the SCRIPTED world (--scripted) or a checkpoint (--checkpoint).",
        discussion: """
        Prints `listening on http://HOST:PORT/v1` once ready (with --port 0, a free port). Point any
        command at it with --backend openai --base-url URL --model NAME.

        Limits: a request over one is refused with a JSON error naming it (never clamped), and
        no request slows the others beyond its own share. Request head over --max-header-bytes:
        431; body over --max-body-bytes: 413; a malformed or negative Content-Length, or both
        Content-Length and Transfer-Encoding: 400; chunked Transfer-Encoding: 411 (send a
        Content-Length). Each of these closes the connection. n over --max-n or max_tokens over
        --max-tokens-limit (or, for --checkpoint, over the model's max_position_embeddings minus
        the prompt): 400. At most --max-in-flight requests compute at once, the rest wait in
        arrival order; past --max-connections open connections: 503 with Retry-After. A
        connection that has not delivered its next whole request --idle-timeout seconds after it
        opened or got its last answer is closed (408 if it sent part of one).
        """
    )
    @Flag(help: "Serve the scripted offline world's teacher and strategist (and bag-of-words embeddings).") var scripted = false
    @Option(help: "Serve this student checkpoint folder instead.") var checkpoint: String?
    @Option var host = "127.0.0.1"
    @Option var port = 8000
    @Option(name: .customLong("world-seed")) var worldSeed: UInt64 = 0
    @Option(name: .customLong("max-n"), help: "Most choices (n) one chat request may ask for.") var maxN = OpenAIServer.Limits().maxN
    @Option(name: .customLong("max-tokens-limit"), help: "Most max_tokens one chat request may ask for.")
    var maxTokensLimit = OpenAIServer.Limits().maxTokens
    @Option(name: .customLong("max-embedding-inputs"), help: "Most strings one embeddings request may hold.")
    var maxEmbeddingInputs = OpenAIServer.Limits().maxEmbeddingInputs
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body.") var maxBodyBytes = HTTPLimits().maxBodyBytes
    @Option(name: .customLong("max-header-bytes"), help: "Largest request line plus headers.") var maxHeaderBytes = HTTPLimits().maxHeadBytes
    @Option(name: .customLong("max-connections"), help: "Most open connections.") var maxConnections = OpenAIServer.Limits().maxConnections
    @Option(name: .customLong("max-in-flight"), help: "Most requests computed at once; the rest wait their turn.")
    var maxInFlight = OpenAIServer.Limits().maxInFlight
    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may take to deliver its next whole request.")
    var idleTimeout = OpenAIServer.Limits().idleTimeout

    func validate() throws {
        guard scripted != (checkpoint != nil) else { throw ValidationError("give exactly one of --scripted and --checkpoint") }
        for (flag, value) in [("--max-n", maxN), ("--max-tokens-limit", maxTokensLimit), ("--max-embedding-inputs", maxEmbeddingInputs),
                              ("--max-body-bytes", maxBodyBytes), ("--max-header-bytes", maxHeaderBytes), ("--max-connections", maxConnections),
                              ("--max-in-flight", maxInFlight)] where value < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(value)")
        }
        guard idleTimeout > 0, idleTimeout.isFinite else { throw ValidationError("--idle-timeout must be a positive number of seconds, got \(idleTimeout)") }
    }

    var limits: OpenAIServer.Limits {
        var l = OpenAIServer.Limits()
        l.http = HTTPLimits(maxHeadBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        l.maxConnections = maxConnections
        l.maxInFlight = maxInFlight
        l.maxN = maxN
        l.maxTokens = maxTokensLimit
        l.maxEmbeddingInputs = maxEmbeddingInputs
        l.idleTimeout = idleTimeout
        return l
    }

    func run() throws {
        let server: OpenAIServer
        if scripted {
            server = try OpenAIServer(model: ScriptedModel(seed: worldSeed), embedder: { $0.map(ScriptedEmbedding.embed) }, host: host,
                                      port: port, limits: limits)
        } else {
            try configureRuntime()
            server = try OpenAIServer(model: try LocalModel(checkpoint: URL(fileURLWithPath: checkpoint!)), host: host, port: port, limits: limits)
        }
        FileHandle.standardOutput.write(Data("listening on http://\(host):\(server.port)/v1\n".utf8))
        server.serve()
    }
}
