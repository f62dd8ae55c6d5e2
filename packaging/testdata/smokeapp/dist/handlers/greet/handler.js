'use strict';
module.exports = (name) => `hello ${name}`;
