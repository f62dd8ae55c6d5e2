'use strict';
class Document {
  constructor(text) {
    this.pairs = text.split('\n').filter(Boolean).map((l) => l.split(':').map((s) => s.trim()));
  }
  toJS() {
    return Object.fromEntries(this.pairs.map(([k, v]) => [k, /^\d+$/.test(v) ? Number(v) : v]));
  }
}
exports.Document = Document;
