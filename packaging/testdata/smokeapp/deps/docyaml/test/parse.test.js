require('../dist/index.js')
