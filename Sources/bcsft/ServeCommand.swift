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
        """
    )
    @Flag(help: "Serve the scripted offline world's teacher and strategist (and bag-of-words embeddings).") var scripted = false
    @Option(help: "Serve this student checkpoint folder instead.") var checkpoint: String?
    @Option var host = "127.0.0.1"
    @Option var port = 8000
    @Option(name: .customLong("world-seed")) var worldSeed: UInt64 = 0

    func validate() throws {
        guard scripted != (checkpoint != nil) else { throw ValidationError("give exactly one of --scripted and --checkpoint") }
    }

    func run() throws {
        let server: OpenAIServer
        if scripted {
            server = try OpenAIServer(model: ScriptedModel(seed: worldSeed), embedder: { $0.map(ScriptedEmbedding.embed) }, host: host, port: port)
        } else {
            try configureRuntime()
            server = try OpenAIServer(model: try LocalModel(checkpoint: URL(fileURLWithPath: checkpoint!)), host: host, port: port)
        }
        FileHandle.standardOutput.write(Data("listening on http://\(host):\(server.port)/v1\n".utf8))
        server.serve()
    }
}
