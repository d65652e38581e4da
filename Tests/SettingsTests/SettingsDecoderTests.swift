import Foundation
import Settings
import XCTest

/// The one way settings are read: types, defaults, checks and where an error points.
final class SettingsDecoderTests: XCTestCase {
    /// A small settings type in the library's style: defaults in the declarations, a nested
    /// group, a choice, a check.
    struct Demo: Settings, Equatable {
        enum Mode: String, Codable, CaseIterable, SettingChoice { case fast, careful }
        struct Group: Codable, Equatable {
            var url = "http://localhost"
            var retries = 3
            enum CodingKeys: String, CodingKey { case url, retries }
            init() {}
            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                try c.update(&url, .url)
                try c.update(&retries, .retries)
            }
        }
        var steps = 10
        var rate = 0.5
        var mode = Mode.fast
        var names: [String] = []
        var group = Group()
        var seed: UInt64 = 0
        var label: String?

        enum CodingKeys: String, CodingKey { case steps, rate, mode, names, group, seed, label }
        init() {}
        init(from decoder: Decoder) throws {
            self.init()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try c.update(&steps, .steps)
            try c.update(&rate, .rate)
            try c.update(&mode, .mode)
            try c.update(&names, .names)
            try c.update(&group, .group)
            try c.update(&seed, .seed)
            try c.update(&label, .label)
        }
        func validate() throws {
            guard steps >= 1 else { throw SettingsError.invalid("steps", "must be at least 1") }
        }
    }

    func decode(_ yaml: String, overrides: [String] = []) throws -> Demo {
        guard var tree = try YAMLTree.parse(yaml, file: "demo.yaml") else { throw SettingsError.invalid("-", "empty") }
        for o in overrides { try Override(o).apply(to: &tree) }
        let (value, locations) = tree.resolved()
        return try Demo.decode(value, with: SettingsDecoder(locations: locations, fallback: SourceLocation(file: "demo.yaml", line: nil)))
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return error.localizedDescription }
    }

    func testDefaultsComeFromTheDeclarationsAndGivenKeysReplaceThem() throws {
        XCTAssertEqual(try decode("label: x"), { var d = Demo(); d.label = "x"; return d }())
        let d = try decode("steps: 4.0\nrate: 2\nmode: careful\nnames: [a, b]\ngroup: {retries: 5}\nseed: 7")
        XCTAssertEqual(d.steps, 4, "a whole number written as 4.0 is an integer")
        XCTAssertEqual(d.rate, 2, "an integer is a number")
        XCTAssertEqual(d.mode, .careful)
        XCTAssertEqual(d.names, ["a", "b"])
        XCTAssertEqual(d.group.retries, 5)
        XCTAssertEqual(d.group.url, "http://localhost", "a group's unwritten keys keep their defaults")
        XCTAssertEqual(d.seed, 7)
        XCTAssertEqual(Demo.keys, ["steps", "rate", "mode", "names", "group", "seed", "label"])
        XCTAssertEqual(Demo.defaults["steps"], .int(10))
    }

    func testErrorsNameTheKeyAndTheLine() {
        XCTAssertEqual(message { try self.decode("steps: 3\nstpes: 4") }, "demo.yaml:2: stpes: unknown key (known: group, label, mode, names, rate, seed, steps)")
        XCTAssertEqual(message { try self.decode("steps: 3\ngroup:\n  url: x\n  retires: 2") }, "demo.yaml:4: group.retires: unknown key (known: retries, url)")
        XCTAssertEqual(message { try self.decode("steps: 2.5") }, "demo.yaml:1: steps: expected an integer, got a number (2.5)")
        XCTAssertEqual(message { try self.decode("rate: fast") }, "demo.yaml:1: rate: expected a number, got a string ('fast')")
        XCTAssertEqual(message { try self.decode("\nmode: quick") }, "demo.yaml:2: mode: 'quick' is not one of fast, careful")
        XCTAssertEqual(message { try self.decode("seed: -1") }, "demo.yaml:1: seed: must be >= 0, got -1")
        XCTAssertEqual(message { try self.decode("names: [a, [b]]") }, "demo.yaml:1: names[1]: expected a string, got a list (['b'])")
        XCTAssertEqual(message { try self.decode("group: 3") }, "demo.yaml:1: group: expected a mapping (key: value), got an integer (3)")
        XCTAssertEqual(message { try self.decode("steps: 0") }, "demo.yaml:1: steps: must be at least 1", "a check's error gets the key's line")
        XCTAssertEqual(message { try self.decode("steps: 1\nsteps: 2") }, "demo.yaml:2: key 'steps' appears twice")
    }

    func testOverridesAreCheckedLikeTheFileAndNameThemselves() throws {
        XCTAssertEqual(try decode("steps: 3", overrides: ["group.retries=9"]).group.retries, 9)
        XCTAssertEqual(message { try self.decode("steps: 3", overrides: ["steps=zero"]) }, "--set steps=zero: steps: expected an integer, got a string ('zero')")
        XCTAssertEqual(message { try self.decode("steps: 3", overrides: ["group.colour=red"]) }, "--set group.colour=red: group.colour: unknown key (known: retries, url)")
        XCTAssertEqual(message { try self.decode("steps: 3", overrides: ["steps"]) }, "--set steps: expected key=value, e.g. --set vars.seed=3")
    }

    /// The sampling settings every step shares: one set of defaults, one set of checks.
    func testSamplingDefaultsAndChecks() throws {
        let s = try Sampling.decode(.map([:]))
        XCTAssertEqual([s.temperature, s.topP], [0.6, 0.95])
        XCTAssertEqual([s.maxTokens, s.topK], [4096, 0])
        XCTAssertEqual([s.minP, s.repetitionPenalty], [0, 1], "both off")
        XCTAssertEqual(s.chatTemplateKwargs, [:])
        for (key, value, reason) in [("temperature", SettingValue.int(-1), "must be >= 0 (0 is greedy)"), ("top_p", .int(0), "must lie in (0, 1]"),
                                     ("top_k", .int(-2), "must be >= 0"), ("max_tokens", .int(0), "must be at least 1"),
                                     ("min_p", .int(1), "must lie in [0, 1)"), ("min_p", .double(-0.1), "must lie in [0, 1)"),
                                     ("repetition_penalty", .int(0), "must be > 0"), ("repetition_penalty", .double(-1.5), "must be > 0")] {
            XCTAssertTrue(message { try Sampling.decode(.map([key: value])) }.hasPrefix("\(key): \(reason)"), "\(key) \(value)")
        }
    }

    /// `chat_template_kwargs` is a map of scalars as a recipe writes it; anything else names the key.
    func testChatTemplateKwargsAreAMapOfScalars() throws {
        let s = try Sampling.decode(.map(["chat_template_kwargs": ["enable_thinking": false, "effort": "low", "budget": 3, "scale": 0.5]]))
        XCTAssertEqual(s.chatTemplateKwargs, ["enable_thinking": .bool(false), "effort": .string("low"), "budget": .int(3), "scale": .double(0.5)])
        XCTAssertTrue(message { try Sampling.decode(.map(["chat_template_kwargs": ["tools": [1, 2]]])) }
            .hasPrefix("chat_template_kwargs.tools: must be a boolean, a number or a string, got a list"))
        XCTAssertTrue(message { try Sampling.decode(.map(["chat_template_kwargs": ["x": .null]])) }.hasPrefix("chat_template_kwargs.x: must be"))
        XCTAssertTrue(message { try Sampling.decode(.map(["chat_template_kwargs": 5])) }.hasPrefix("chat_template_kwargs: expected a mapping"),
                      message { try Sampling.decode(.map(["chat_template_kwargs": 5])) })
        // Encoded and decoded again, the same values.
        XCTAssertEqual(try Sampling.decode(try SettingValue(encoding: s)).chatTemplateKwargs, s.chatTemplateKwargs)
    }
}
