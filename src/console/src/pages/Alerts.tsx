export const Alerts = () => (
  <main class="page">
    <h1>Alerts</h1>
  </main>
)
