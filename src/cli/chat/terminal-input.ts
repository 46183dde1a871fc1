/**
 * The keyboard side of `vigil chat`, as ChatInputs. At the prompt, node:readline edits the line; during a turn
 * the terminal is in raw mode, since readline would echo typing into the streamed reply: Ctrl-C cancels at
 * once, y/n/a answer an approval while one is asked, and anything else typed is type-ahead, kept for the next
 * prompt as if typed there (the next message, `/exit`, Ctrl-D), so nothing typed while a reply finishes is
 * lost. Input that is not a terminal (a pipe, a file) is read a line at a time, only when the chat asks for one,
 * so piped messages go one per turn.
 */
import { emitKeypressEvents, createInterface, type Interface } from 'node:readline';
import type { ReadStream } from 'node:tty';
import type { ChatInput } from './chat-state';

/** `line`: reading a line at the prompt. `keys`: a turn runs (keys are answers, Ctrl-C cancels). */
export type InputMode = { kind: 'line'; prompt: string } | { kind: 'keys'; answering: boolean };

export interface ChatKeyboard {
  /** Switches what is read; the ChatInputs go to the listener given to the constructor. */
  read(mode: InputMode): void;
  close(): void;
}

interface Keypress {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  sequence?: string;
}

export function createKeyboard(
  input: NodeJS.ReadableStream & { isTTY?: boolean },
  output: NodeJS.WritableStream,
  listener: (input: ChatInput) => void,
): ChatKeyboard {
  return input.isTTY === true
    ? new TerminalKeyboard(input as ReadStream, output, listener)
    : new LineKeyboard(input, listener);
}

class TerminalKeyboard implements ChatKeyboard {
  private rl: Interface | null = null;
  private keys = false;
  /** Whether keys typed during the turn answer an approval question (else they are type-ahead). */
  private answering = false;
  /** Keys typed during a turn when no question was asked, replayed at the next prompt. */
  private readonly typeahead: { text: string | undefined; key: Keypress | undefined }[] = [];
  private readonly history: string[] = [];
  private readonly onKey = (text: string | undefined, key: Keypress | undefined) => this.key(text, key);

  constructor(
    private readonly input: ReadStream,
    private readonly output: NodeJS.WritableStream,
    private readonly listener: (input: ChatInput) => void,
  ) {
    emitKeypressEvents(input);
  }

  read(mode: InputMode): void {
    if (mode.kind === 'keys') this.answering = mode.answering;
    if (mode.kind === 'keys' && this.keys) return;
    this.stop();
    if (mode.kind === 'keys') {
      this.keys = true;
      this.input.setRawMode(true);
      this.input.on('keypress', this.onKey);
      this.input.resume();
      return;
    }
    const rl = createInterface({
      input: this.input,
      output: this.output,
      terminal: true,
      history: this.history,
      historySize: 200,
      removeHistoryDuplicates: true,
    });
    this.rl = rl;
    const done = (event: ChatInput) => {
      if (this.rl !== rl) return;
      this.stop();
      this.listener(event);
    };
    rl.on('line', (text) => done({ type: 'line', text }));
    rl.on('SIGINT', () => {
      // readline leaves the half-typed line on screen; end it so what follows starts on its own line.
      this.output.write('^C\n');
      done({ type: 'interrupt' });
    });
    // Ctrl-D on an empty line closes the interface (and the stream's end does too).
    rl.on('close', () => {
      if (this.rl === rl) {
        this.rl = null;
        this.output.write('\n');
        this.listener({ type: 'eof' });
      }
    });
    rl.setPrompt(mode.prompt);
    rl.prompt();
    // Typed ahead during the turn: edited and submitted as if typed now. A submitted line ends this prompt,
    // and what follows it waits for the next one.
    while (this.rl === rl && this.typeahead.length > 0) {
      const { text, key } = this.typeahead.shift()!;
      if (key) rl.write(text ?? null, key);
      else if (text !== undefined) rl.write(text);
    }
  }

  close(): void {
    this.stop();
    this.input.pause();
  }

  private key(text: string | undefined, key: Keypress | undefined): void {
    if (!this.keys) return;
    if (key?.ctrl === true && key.name === 'c') return this.listener({ type: 'interrupt' });
    if (!this.answering) {
      this.typeahead.push({ text, key });
      return;
    }
    if (key?.ctrl === true && key.name === 'd') return this.listener({ type: 'eof' });
    if (key?.ctrl === true || key?.meta === true || text === undefined) return;
    this.listener({ type: 'key', key: text });
  }

  private stop(): void {
    if (this.rl !== null) {
      const rl = this.rl;
      this.rl = null;
      rl.close();
    }
    if (this.keys) {
      this.keys = false;
      this.input.off('keypress', this.onKey);
      this.input.setRawMode(false);
    }
  }
}

/** Lines from a pipe or file, handed out one at a time when the chat wants a line or an answer. */
class LineKeyboard implements ChatKeyboard {
  private readonly lines: string[] = [];
  private ended = false;
  private mode: InputMode | null = null;
  private readonly rl: Interface;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly listener: (input: ChatInput) => void,
  ) {
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      this.lines.push(line);
      this.deliver();
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.deliver();
    });
  }

  read(mode: InputMode): void {
    this.mode = mode;
    // Asynchronously, as a person's typing would come: the caller finishes its step first.
    setImmediate(() => this.deliver());
  }

  close(): void {
    this.mode = null;
    this.rl.close();
  }

  private deliver(): void {
    const mode = this.mode;
    if (mode === null || (mode.kind === 'keys' && !mode.answering)) return;
    const line = this.lines.shift();
    if (line !== undefined) {
      this.mode = null;
      this.listener({ type: 'line', text: line });
    } else if (this.ended && mode.kind === 'line') {
      this.mode = null;
      this.listener({ type: 'eof' });
    }
  }
}
