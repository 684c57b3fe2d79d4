import Testing

@testable import LanguageModelDemo
