/** The producers: what an agent written in TypeScript records its work with. */
export { TranscriptWriter, TranscriptEntryType, EntryCategory, defaultCategory } from "./transcript-writer.js";
export type { TranscriptEntryInput, TranscriptWriterOptions } from "./transcript-writer.js";
export { ToolUseLogger, ToolCategory } from "./tool-use-logger.js";
export type { ToolUseBlock, ToolResultBlock, LogStartOptions } from "./tool-use-logger.js";
export { SkillTracer } from "./skill-tracer.js";
export type { SkillReference, SkillStatus } from "./skill-tracer.js";
export { AssertionRecorder, AssertionCategory } from "./assertion-recorder.js";
export type { AssertionEvidence, AssertionResult, AssertionOutcome, ChainResult, AssertionRecorderOptions } from "./assertion-recorder.js";
