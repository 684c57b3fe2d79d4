/// The language-model demo of `xent demo lm`: a tokenizer, n-gram baselines and a neural model
/// whose output layer is the library's fused linear cross-entropy, trained on Shakespeare.
enum LanguageModelDemo {}
