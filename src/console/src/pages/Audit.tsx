export const Audit = () => (
  <main class="page">
    <h1>Audit</h1>
  </main>
)
