'use strict';
// Like yaml: the Document code is under dist/doc/, a name the "docs" rule matches.
const { Document } = require('./doc/Document.js');
exports.parse = (text) => new Document(text).toJS();
