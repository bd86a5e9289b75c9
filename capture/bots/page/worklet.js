// Mixes whatever reaches it to mono, resamples to 16 kHz and posts PCM16 chunks with the
// context frame of their first sample, so the bot can stamp them on the page's clock.
class StenographCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.outRate = options.processorOptions.outRate;
    this.chunk = options.processorOptions.chunkSamples;
    this.step = sampleRate / this.outRate; // input samples per output sample
    this.pos = 0; // fractional input position of the next output sample, relative to this block
    this.acc = 0; // box-filter sum since the last output sample
    this.accN = 0;
    this.buf = new Int16Array(this.chunk);
    this.fill = 0;
    this.bufStart = -1; // input frame of the chunk's first output sample
  }

  process(inputs) {
    const input = inputs[0];
    const n = 128;
    const channels = input ? input.length : 0;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += input[c][i];
      if (channels > 1) v /= channels;
      // averaging the input samples that fall into one output period filters before decimation
      this.acc += v;
      this.accN += 1;
      if (i + 1 >= this.pos) {
        const s = Math.max(-1, Math.min(1, this.acc / this.accN));
        if (this.fill === 0) this.bufStart = currentFrame + i;
        this.buf[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
        this.acc = 0;
        this.accN = 0;
        this.pos += this.step;
        if (this.fill === this.chunk) {
          this.port.postMessage({ frame: this.bufStart, pcm: this.buf.buffer }, [this.buf.buffer]);
          this.buf = new Int16Array(this.chunk);
          this.fill = 0;
        }
      }
    }
    this.pos -= n;
    return true;
  }
}

registerProcessor("stenograph-capture", StenographCapture);
