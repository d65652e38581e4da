import Foundation
@testable import Recipes
import Settings
import TestSupport
import XCTest

final class RecipeParsingTests: XCTestCase {
    let base = URL(fileURLWithPath: "/tmp/recipe-base")

    func parse(_ yaml: String, overrides: [String] = [], env: [String: String] = [:], workdir: String? = nil) throws -> Recipe {
        try Recipe.parse(yaml: yaml, source: "exp.yaml", overrides: overrides, workdir: workdir, environment: env, baseDirectory: base)
    }

    /// The resolved value of one setting, with output folders as `<stage>` and `<out>`.
    func setting(_ r: Recipe, _ stage: String, _ key: String) -> SettingValue? {
        r.stage(stage)?.settings[key]?.resolve { "<\($0 ?? "out")>" }
    }

    static let twoStages = """
    name: exp
    vars:
      seed: 7
      tag: base
    stages:
      data:
        kind: shell
        settings:
          command: make-data
          seed: ${vars.seed}
      train:
        kind: train
        inputs:
          data: ${stages.data.out}/train.jsonl
        settings:
          lr: 0.01
          label: run-${vars.tag}-${vars.seed}
    """

    func testStagesVarsAndDependencies() throws {
        let r = try parse(Self.twoStages)
        XCTAssertEqual(r.name, "exp")
        XCTAssertEqual(r.workdir.path, "/tmp/recipe-base/runs/exp")
        XCTAssertEqual(r.stages.map(\.name), ["data", "train"])
        XCTAssertEqual(setting(r, "data", "seed"), .int(7), "a lone ${vars.x} keeps the var's type")
        XCTAssertEqual(setting(r, "train", "label"), .string("run-base-7"))
        XCTAssertEqual(setting(r, "train", "lr"), .double(0.01))
        XCTAssertEqual(r.stage("train")?.dependencies, ["data"], "naming an output folder makes a dependency")
        XCTAssertEqual(r.stage("data")?.dependencies, [])
    }

    func testUnknownKeysNameTheKeyFileAndLine() {
        assertThrows(["exp.yaml:3:", "unknown key 'stagse'", "known: name, workdir, vars, stages"]) {
            _ = try parse("name: exp\nvars: {}\nstagse:\n  a: {kind: shell}\n")
        }
        let typo = Self.twoStages.replacingOccurrences(of: "    inputs:", with: "    input:")
        assertThrows(["exp.yaml:13:", "unknown key 'stages.train.input'", "known: kind, after, inputs, settings"]) {
            _ = try parse(typo)
        }
        assertThrows(["exp.yaml:4:", "key 'a' appears twice"]) {
            _ = try parse("stages:\n  a: {kind: shell}\n  b: {kind: shell}\n  a: {kind: shell}\n")
        }
        assertThrows(["exp.yaml:2:", "stages.a", "missing 'kind'"]) {
            _ = try parse("stages:\n  a:\n    settings: {x: 1}\n")
        }
    }

    func testYAMLSyntaxErrorsNameTheLineAndHintAtQuoting() {
        assertThrows(["exp.yaml:4:", "not valid YAML", "must be quoted"]) {
            _ = try parse("vars: {seed: 1}\nstages:\n  a:\n    settings: {seed: ${vars.seed}}\n    kind: shell\n")
        }
        // Quoted, the reference still means the integer.
        let r = try? parse("vars: {seed: 1}\nstages:\n  a:\n    settings: {seed: \"${vars.seed}\"}\n    kind: shell\n")
        XCTAssertEqual(r.flatMap { setting($0, "a", "seed") }, .int(1))
    }

    func testMergeKeysTakeAnAnchoredBlockAndRestatePartOfIt() throws {
        let r = try parse("""
        stages:
          a:
            kind: shell
            settings: &base
              lr: 0.1
              seed: 0
              model: &model {size: 8, seed: 0}
          b: {kind: shell, settings: {seed: 1, <<: *base, model: {<<: *model, seed: 1}}}
          c: {kind: shell, settings: {<<: [*model, *base]}}
        """)
        XCTAssertEqual(setting(r, "b", "lr"), .double(0.1))
        XCTAssertEqual(setting(r, "b", "seed"), .int(1), "a key the map gives itself wins, before or after <<")
        XCTAssertEqual(setting(r, "b", "model"), ["size": 8, "seed": 1])
        XCTAssertEqual(setting(r, "a", "seed"), .int(0), "the anchored block is unchanged")
        XCTAssertEqual(setting(r, "a", "model"), ["size": 8, "seed": 0])
        XCTAssertEqual(setting(r, "c", "lr"), .double(0.1))
        XCTAssertEqual(setting(r, "c", "size"), .int(8), "from a list, each map adds what the earlier ones lack")
        XCTAssertNil(setting(r, "b", "<<"))
        assertThrows(["exp.yaml:2:", "<<", "a merge key takes a mapping"]) {
            _ = try parse("stages:\n  a: {kind: shell, settings: {<<: 3}}\n")
        }
        // Quoted, `<<` is an ordinary key.
        XCTAssertEqual(setting(try parse("stages:\n  a: {kind: shell, settings: {'<<': 3}}\n"), "a", "<<"), .int(3))
    }

    func testEnvironmentInterpolation() throws {
        let yaml = """
        vars:
          url: ${TEACHER_URL:-scripted}
          threads: ${THREADS}
          path: ${DATA_ROOT}/problems.jsonl
          literal: $${HOME}
        stages:
          a: {kind: shell}
        """
        let set = try parse(yaml, env: ["TEACHER_URL": "http://h:8000/v1", "THREADS": "4", "DATA_ROOT": "/data"])
        XCTAssertEqual(set.vars["url"], .string("http://h:8000/v1"))
        XCTAssertEqual(set.vars["threads"], .int(4), "a lone ${ENV} is typed as a YAML scalar")
        XCTAssertEqual(set.vars["path"], .string("/data/problems.jsonl"))
        XCTAssertEqual(set.vars["literal"], .string("${HOME}"), "$${ is a literal ${")
        let defaulted = try parse(yaml, env: ["THREADS": "1", "DATA_ROOT": "/d"])
        XCTAssertEqual(defaulted.vars["url"], .string("scripted"))
        assertThrows(["exp.yaml:3:", "environment variable THREADS is not set", "${THREADS:-value}"]) {
            _ = try parse(yaml, env: ["DATA_ROOT": "/d"])
        }
    }

    func testReferenceErrors() {
        assertThrows(["exp.yaml:5:", "${vars.sede}", "no such var (vars: seed)"]) {
            _ = try parse("vars: {seed: 1}\nstages:\n  a:\n    kind: shell\n    settings: {x: \"${vars.sede}\"}\n")
        }
        assertThrows(["exp.yaml:2:", "vars may use only ${ENV}"]) {
            _ = try parse("vars:\n  a: x-${vars.b}\n  b: 1\nstages:\n  a: {kind: shell}\n")
        }
        assertThrows(["exp.yaml:5:", "no stage named 'dta'", "stages: a, b"]) {
            _ = try parse("stages:\n  a: {kind: shell}\n  b:\n    kind: shell\n    after: [dta]\n")
        }
        assertThrows(["exp.yaml:6:", "no stage named 'dta'"]) {
            _ = try parse("stages:\n  a: {kind: shell}\n  b:\n    kind: shell\n    settings:\n      data: ${stages.dta.out}/x\n")
        }
        assertThrows(["exp.yaml:4:", "stages.a.inputs.x", "${out} is this stage's own output"]) {
            _ = try parse("stages:\n  a:\n    kind: shell\n    inputs: {x: \"${out}/f\"}\n")
        }
        assertThrows(["exp.yaml:4:", "${stages.a}", "expected ${stages.NAME.out}"]) {
            _ = try parse("stages:\n  a:\n    kind: shell\n    settings: {x: \"${stages.a}\"}\n")
        }
    }

    func testCyclesAreNamed() {
        let yaml = """
        stages:
          a: {kind: shell, after: [c]}
          b: {kind: shell, inputs: {x: "${stages.a.out}/f"}}
          c: {kind: shell, settings: {from: "${stages.b.out}"}}
          d: {kind: shell}
        """
        assertThrows(["dependency cycle: a -> c -> b -> a"]) { _ = try parse(yaml) }
        assertThrows(["dependency cycle: a -> a"]) {
            _ = try parse("stages:\n  a: {kind: shell, settings: {x: \"${stages.a.out}\"}}\n")
        }
    }

    func testOrderFollowsDependenciesThenFileOrder() throws {
        let r = try parse("""
        stages:
          report: {kind: shell, after: [eval_a, eval_b]}
          eval_b: {kind: shell, after: [train]}
          eval_a: {kind: shell, after: [train]}
          train: {kind: shell}
        """)
        let graph = try DependencyGraph(r.stages)
        XCTAssertEqual(graph.order, ["train", "eval_b", "eval_a", "report"])
        XCTAssertEqual(graph.downstream(of: "train"), ["eval_a", "eval_b", "report"])
        XCTAssertEqual(graph.downstream(of: "report"), [])
    }

    func testOverrides() throws {
        let r = try parse(Self.twoStages, overrides: ["vars.seed=3", "stages.train.settings.lr=1e-3",
                                                      "stages.train.settings.warmup=10", "stages.data.settings.command='echo 1'",
                                                      "stages.train.after=[data]", "workdir=elsewhere"])
        XCTAssertEqual(setting(r, "data", "seed"), .int(3), "vars are overridden before references resolve")
        XCTAssertEqual(setting(r, "train", "label"), .string("run-base-3"))
        XCTAssertEqual(setting(r, "train", "lr"), .double(0.001))
        XCTAssertEqual(setting(r, "train", "warmup"), .int(10), "a new key inside settings is allowed")
        XCTAssertEqual(setting(r, "data", "command"), .string("echo 1"))
        XCTAssertEqual(r.stage("train")?.after, ["data"])
        XCTAssertEqual(r.workdir.path, "/tmp/recipe-base/elsewhere")
        XCTAssertEqual(try parse(Self.twoStages, overrides: ["vars.seed='3'"]).vars["seed"], .string("3"), "quoted: a string")
        XCTAssertEqual(try parse(Self.twoStages, workdir: "/abs/w").workdir.path, "/abs/w")
        let nested = try parse(Self.twoStages, overrides: ["stages.train.settings.model.hidden=64"])
        XCTAssertEqual(setting(nested, "train", "model"), .map(["hidden": .int(64)]))

        assertThrows(["--set vars.sede=1", "'vars.sede' is not in exp.yaml", "'vars' has: seed, tag"]) {
            _ = try parse(Self.twoStages, overrides: ["vars.sede=1"])
        }
        assertThrows(["'stages.trian' is not in exp.yaml", "'stages' has: data, train"]) {
            _ = try parse(Self.twoStages, overrides: ["stages.trian.settings.lr=1"])
        }
        assertThrows(["'stages.train.setings' is not in exp.yaml"]) {
            _ = try parse(Self.twoStages, overrides: ["stages.train.setings.lr=1"])
        }
        assertThrows(["'stages.train.settings.lr' is a single value"]) {
            _ = try parse(Self.twoStages, overrides: ["stages.train.settings.lr.x=1"])
        }
        assertThrows(["--set seed", "expected key=value"]) { _ = try parse(Self.twoStages, overrides: ["seed"]) }
    }

    func testCanonicalFormIsUnambiguous() throws {
        let r = try parse("""
        stages:
          a: {kind: shell}
          b:
            kind: shell
            settings:
              ref: ${stages.a.out}/x
              literal: $${stages.a.out}/x
              whole: 1.0
              int: 1
        """)
        let s = r.stage("b")!.settings
        XCTAssertNotEqual(s["ref"]!.canonical, s["literal"]!.canonical)
        XCTAssertEqual(s["ref"]!.canonical, "\"${stages.a.out}/x\"")
        XCTAssertNotEqual(s["whole"]!.canonical, s["int"]!.canonical)
        XCTAssertEqual(r.stage("b")!.dependencies, ["a"], "an escaped reference is not a dependency")
    }
}
