// Cuts a byte stream into lines in time linear in its length, holding at most one unfinished line of
// bounded size: the NDJSON framing of runtime streams (Ollama pulls and generations).

/** Thrown by push() when a line grows past the limit before its newline arrives. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`a line is longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

export class LineSplitter {
  private readonly decoder = new TextDecoder();
  // The unfinished line, in the chunks it came in: joined once, when its newline arrives.
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Bytes of the line not ended yet. */
  get unfinishedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * The lines this chunk ends, without their "\n" (and "\r"). Searches only the new bytes: a newline
   * byte never occurs inside a UTF-8 sequence, so lines are cut before decoding.
   */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const length = this.pendingBytes + piece.byteLength;
      if (length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      const bytes = this.pendingBytes ? Buffer.concat([...this.pending, piece], length) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      lines.push(this.decoder.decode(bytes).replace(/\r$/, ''));
    }
    if (start < chunk.byteLength) {
      this.pendingBytes += chunk.byteLength - start;
      if (this.pendingBytes > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      this.pending.push(chunk.subarray(start));
    }
    return lines;
  }

  /** The text after the last newline, at the end of the stream. */
  rest(): string {
    const text = this.decoder.decode(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
    return text;
  }
}
