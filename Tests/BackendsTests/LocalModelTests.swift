import ChatTemplates
import Datasets
import Foundation
import Models
import Pipelines
import Settings
import Teachers
import TestSupport
import Torch
import XCTest

@testable import Backends

/// The in-process student behind the LanguageModel interface.
final class LocalModelTests: XCTestCase {
    func testBatchedConcurrentRequestsEqualOneAtATime() async throws {
        let tok = try markerTokenizer(vocabularySize: 400)
        let config = LlamaConfig(vocabSize: tok.vocabularySize, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, bosTokenID: tok.bosID.map(Int.init), eosTokenID: tok.eosID.map(Int.init))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Checkpoint.save(try Llama(config: config, generator: Generator(seed: 1)), to: dir.appendingPathComponent("ck"), tokenizerFiles: tok.files)
        let model = try LocalModel(checkpoint: dir.appendingPathComponent("ck"), template: "bcsft", maxBatch: 8)
        let prompts = ["What is 2 + 3?", "A much longer question about rectangles and fences and prices?", "Hi", "Count to five."]
        for s in [Sampling(temperature: 0, maxTokens: 12), Sampling(temperature: 1.0, topP: 0.95, maxTokens: 12, seed: 7),
                  Sampling(temperature: 1.0, topP: 0.95, minP: 0.05, repetitionPenalty: 1.3, maxTokens: 12, seed: 7)] {
            try await checkBatchingChangesNothing(model, prompts, s)
        }
    }

    /// An adapter folder PEFT saved (no tokenizer of its own): the local backend runs its base
    /// with the adapters merged, with the base's tokenizer and template, under another name
    /// (cache key) than the base's.
    func testAnAdapterFolderRunsOnItsBase() async throws {
        let fixtures = repoRoot.appendingPathComponent("Tests/ModelsTests/Fixtures")
        let adapter = try LocalModel(checkpoint: fixtures.appendingPathComponent("lora/qwen2-adapter"), template: "auto")
        let base = try LocalModel(checkpoint: fixtures.appendingPathComponent("families/qwen2"), template: "auto")
        XCTAssertNotEqual(adapter.name.split(separator: "@").last, base.name.split(separator: "@").last)
        let s = Sampling(temperature: 0, maxTokens: 8)
        let a = try await adapter.complete([.user("Hi")], s), b = try await base.complete([.user("Hi")], s)
        XCTAssertGreaterThan(try XCTUnwrap(a.usage).completionTokens, 0)
        XCTAssertNotEqual(a.choices.first?.content, b.choices.first?.content, "the adapters change the greedy reply")
    }

    /// The same completions whether the prompts run one at a time or batched together: greedy,
    /// and sampled (each row draws from a generator seeded by its own request).
    func checkBatchingChangesNothing(_ model: LocalModel, _ prompts: [String], _ s: Sampling) async throws {
        var alone: [Completion] = []
        for p in prompts { alone.append(try await model.complete([.user(p)], s)) }
        let together = try await withThrowingTaskGroup(of: (Int, Completion).self) { group in
            for (i, p) in prompts.enumerated() { group.addTask { (i, try await model.complete([.user(p)], s)) } }
            var out = [Completion?](repeating: nil, count: prompts.count)
            for try await (i, c) in group { out[i] = c }
            return out.map { $0! }
        }
        for (a, b) in zip(alone, together) {
            XCTAssertEqual(a.choices, b.choices, "output does not depend on batching (temperature \(s.temperature))")
            XCTAssertEqual(a.usage, b.usage)
            XCTAssertLessThanOrEqual(a.usage!.completionTokens, 12)
            if a.usage!.completionTokens == 12 { XCTAssertEqual(a.choices[0].finishReason, "length") }
        }
        XCTAssertGreaterThan(alone[1].usage!.promptTokens, alone[2].usage!.promptTokens)
    }

    /// A template that reads two variables: `style` (recorded at training) and `enable_thinking`.
    static let variableTemplate = """
        {{- bos_token -}}
        {%- if style is defined -%}
          {{- '<|system|>' + style -}}
          {%- if enable_thinking is defined and not enable_thinking -%}{{- ' without thinking' -}}{%- endif -%}
          {{- '<|end|>' -}}
        {%- endif -%}
        {%- for message in messages -%}
          {%- if message['role'] == 'assistant' -%}{{- '<|assistant|>' + message['content'] + eos_token -}}
          {%- else -%}{{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' -}}{%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}
        """

    /// A request's chat_template_kwargs render its prompt over the variables the checkpoint was
    /// trained with: overriding one, adding another, and with none the trained ones alone.
    func testChatTemplateKwargsOverrideAndExtendTheTrainedVariables() async throws {
        let tok = try markerTokenizer(vocabularySize: 400)
        let config = LlamaConfig(vocabSize: tok.vocabularySize, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2,
                                 numAttentionHeads: 4, numKeyValueHeads: 2, bosTokenID: tok.bosID.map(Int.init), eosTokenID: tok.eosID.map(Int.init))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let template = try ChatTemplate(Self.variableTemplate, name: "styled")
        let trained = try ChatEncoder(template: template, tokenizer: tok, variables: ["style": .string("short")])
        try Checkpoint.save(try Llama(config: config, generator: Generator(seed: 1)), to: dir.appendingPathComponent("ck"),
                            tokenizerFiles: tok.files.merging(try ChatTemplateRecord.files(of: trained)) { $1 })
        let model = try LocalModel(checkpoint: dir.appendingPathComponent("ck"), maxBatch: 4)
        let messages: [Message] = [.user("What is 2 + 3?")]
        func ids(_ variables: [String: TemplateVariable]) throws -> [Int32] {
            try ChatEncoder(template: template, tokenizer: tok, variables: variables).promptIDs([.user("What is 2 + 3?")])
        }
        XCTAssertEqual(try model.prompt(messages).ids, try ids(["style": .string("short")]), "the trained variables")
        XCTAssertEqual(try model.prompt(messages, ["enable_thinking": false]).ids, try ids(["style": .string("short"), "enable_thinking": .bool(false)]))
        XCTAssertEqual(try model.prompt(messages, ["style": "long"]).ids, try ids(["style": .string("long")]))
        // Each of those renders differently, so the equalities above test the variables.
        XCTAssertEqual(Set([try ids(["style": .string("short")]), try ids(["style": .string("short"), "enable_thinking": .bool(false)]),
                            try ids(["style": .string("long")])]).count, 3)

        // Through complete(): the prompt the usage reports is the one the kwargs rendered.
        let plain = try await model.complete(messages, Sampling(temperature: 0, maxTokens: 4))
        let without = try await model.complete(messages, Sampling(temperature: 0, maxTokens: 4, chatTemplateKwargs: ["enable_thinking": false]))
        XCTAssertEqual(plain.usage?.promptTokens, try ids(["style": .string("short")]).count)
        XCTAssertEqual(without.usage?.promptTokens, try ids(["style": .string("short"), "enable_thinking": .bool(false)]).count)

        // A value no template variable can hold is an error naming it.
        do {
            _ = try await model.complete(messages, Sampling(temperature: 0, maxTokens: 4, chatTemplateKwargs: ["tools": [1, 2]]))
            XCTFail("a list is not a template variable here")
        } catch {
            XCTAssertTrue(error.localizedDescription.contains("chat_template_kwargs.tools"), error.localizedDescription)
        }
    }
}
